"""Several servers behind one Client (fake servers): addresses, the
least-loaded choice, unary retry on another server, stream failover and
reconnection with backoff."""

from __future__ import annotations

import threading
import time

import pytest
from fake_server import FakeServer

from adrnorm_client import Client, ClientConfigError, HealthStatus, NormalizeRequest, Unavailable

pytestmark = pytest.mark.fake_only


@pytest.fixture
def fakes(certs):
    made = []

    def make(n=2, **kwargs):
        new = [FakeServer(str(certs), **kwargs) for _ in range(n)]
        made.extend(new)
        return new

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def tls(certs):
    return dict(ca=certs / "ca.pem", cert=certs / "client-a.pem", key=certs / "client-a.key")


def addr(s) -> str:
    return f"{s.host}:{s.port}"


def test_addresses_in_every_form(fakes, tls):
    a, b = fakes(2)
    for servers, port in ((addr(a), None), ((a.host, a.port), None), (a.host, a.port), ([addr(a), addr(b)], None),
                          ([f"[::ffff:127.0.0.1]:{a.port}"], None)):
        try:
            c = Client(servers, port, **tls)
        except ConnectionError:
            assert servers == [f"[::ffff:127.0.0.1]:{a.port}"]  # a host without IPv6
            continue
        with c:
            assert c.health() == HealthStatus.SERVING
            assert [s.state for s in c.servers] == ["ready"] * len(c.servers)
    for bad, match in (("localhost", "HOST:PORT"), ("h:x", "not a number"), ("h:0", "out of range"), ([], "no server"),
                       ([42], "HOST:PORT")):
        with pytest.raises(ClientConfigError, match=match):
            Client(bad, **tls)
    with pytest.raises(ClientConfigError, match="single host"):
        Client([addr(a)], 7443, **tls)


def test_calls_spread_over_the_least_loaded_servers(fakes, tls):
    a, b = fakes(2)
    with Client([addr(a), addr(b)], **tls, timeout=30) as c:
        errors = []

        def work(t):
            try:
                for i in range(6):
                    assert c.normalize(f"__sleep_ms=50__头晕{t}", top_k=10).ok
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert not errors, errors[0]
        na = a.calls.count("/adrnorm.v1.Normalizer/Normalize")
        nb = b.calls.count("/adrnorm.v1.Normalizer/Normalize")
        assert na + nb == 36 and min(na, nb) >= 10, (na, nb)
        assert all(s.outstanding_pairs == 0 for s in c.servers)


def test_a_server_down_at_start_is_connected_later(fakes, tls, certs):
    (a,) = fakes(1)
    b = FakeServer(str(certs))
    port = b.port
    b.stop()
    with Client([addr(a), f"127.0.0.1:{port}"], **tls, backoff_initial=0.05, backoff_max=0.2) as c:
        assert [s.state for s in c.servers][0] == "ready"
        assert c.servers[1].state in ("down", "connecting") and str(port) in c.servers[1].address
        assert c.servers[1].last_error
        (b2,) = [FakeServer(str(certs), port=port)]
        try:
            deadline = time.monotonic() + 10
            while c.servers[1].state != "ready" and time.monotonic() < deadline:
                time.sleep(0.02)
            assert c.servers[1].state == "ready"
        finally:
            b2.stop()


def test_no_server_reachable_names_each(certs, tls):
    ports = []
    for _ in range(2):
        s = FakeServer(str(certs))
        ports.append(s.port)
        s.stop()
    with pytest.raises(ConnectionError) as e:
        Client([f"127.0.0.1:{p}" for p in ports], **tls)
    assert all(str(p) in str(e.value) for p in ports) and "no server could be connected" in str(e.value)


def test_unary_call_on_a_dying_server_is_retried_on_another(fakes, tls):
    a, b = fakes(2)
    with Client([addr(a), addr(b)], **tls, timeout=30) as c:
        # The call lands on whichever server is first in turn; its server
        # dies while the call sleeps there, before any response.
        hosts = {addr(a): a, addr(b): b}
        box = {}
        t = threading.Thread(target=lambda: box.update(r=c.normalize("__sleep_ms=3000__头晕", id="x")))
        t.start()
        deadline = time.monotonic() + 5
        while not (a.open_stream_ids() or b.open_stream_ids()) and time.monotonic() < deadline:
            time.sleep(0.01)
        first = a if a.open_stream_ids() else b
        start = time.monotonic()
        first.kill()
        t.join(15)
        assert box["r"].id == "x" and box["r"].ok
        other = b if first is a else a
        assert other.calls.count("/adrnorm.v1.Normalizer/Normalize") == 1
        assert time.monotonic() - start < 10
        assert hosts  # both were in use
        # With every server gone, calls fail at once and name each server.
        other.kill()
        deadline = time.monotonic() + 5
        while c.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        t0 = time.monotonic()
        with pytest.raises(Unavailable, match="no server is ready") as e:
            c.health()
        assert time.monotonic() - t0 < 1 and addr(a) in str(e.value) and addr(b) in str(e.value)


@pytest.mark.parametrize("how", ["kill", "goaway", "terminate"])
def test_stream_moves_to_the_other_server_exactly_once(fakes, tls, how):
    a, b = fakes(2)
    n = 5000  # the real replicas' tests stream 20,000
    with Client([addr(a), addr(b)], **tls, timeout=120) as c:
        got = []
        for r in c.normalize_stream((NormalizeRequest(f"头晕{i % 13}", id=f"r{i}") for i in range(n)), window=128):
            got.append(r)
            if len(got) == 1500:
                busy = [s for s in (a, b) if s.open_stream_ids()]
                assert len(busy) == 1
                # On a thread: terminate() waits for the connections to end.
                threading.Thread(target=getattr(busy[0], how), daemon=True).start()
        assert [r.id for r in got] == [f"r{i}" for i in range(n)]
        assert all(r.ok for r in got)
        # Both servers did part of the work.
        assert all("/adrnorm.v1.Normalizer/NormalizeStream" in s.calls for s in (a, b))


def test_stream_gives_up_when_no_server_comes_back(fakes, tls):
    a, b = fakes(2)
    with Client([addr(a), addr(b)], **tls, failover_timeout=0.5) as c:
        gen = c.normalize_stream(f"头晕{i}" for i in range(100000))
        next(gen)
        a.kill()
        b.kill()
        start = time.monotonic()
        with pytest.raises(Unavailable, match="no other server became ready within 0.5s"):
            for _ in gen:
                pass
        assert time.monotonic() - start < 5


def test_backoff_is_capped_and_jittered(certs, tls):
    """A server that stays down is tried again and again, the gaps growing
    from backoff_initial to backoff_max (each drawn from its upper half)."""
    (a,) = [FakeServer(str(certs))]
    port = a.port
    c = Client(addr(a), **tls, backoff_initial=0.05, backoff_max=0.2)
    try:
        a.kill()
        # A bare TCP listener on the port: each reconnection attempt shows
        # as an accepted connection (closed at once, so the attempt fails).
        import socket
        attempts = []
        lst = socket.create_server(("127.0.0.1", port))
        lst.settimeout(0.2)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                conn, _ = lst.accept()
            except socket.timeout:
                continue
            attempts.append(time.monotonic())
            conn.close()
        lst.close()
        gaps = [y - x for x, y in zip(attempts, attempts[1:])]
        assert len(attempts) >= 8, attempts
        assert all(g < 0.2 + 0.15 for g in gaps), gaps  # never beyond the cap (plus a failed try)
        assert max(gaps[-4:]) >= 0.1, gaps  # grew past the first delays
        assert len({round(g, 3) for g in gaps[-4:]}) > 1, gaps  # jittered, not a fixed period
        b = FakeServer(str(certs), port=port)
        try:
            deadline = time.monotonic() + 5
            while not c.connected and time.monotonic() < deadline:
                time.sleep(0.01)
            assert c.health() == HealthStatus.SERVING and c.servers[0].connects == 2
        finally:
            b.stop()
    finally:
        c.close()
