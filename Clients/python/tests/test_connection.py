"""TLS, sharing, deadlines, shutdown, GoAway, Ping (fake or real server)."""

import ssl
import threading
import time

import pytest

from adrnorm_client import (Client, ClientConfigError, DeadlineExceeded, HandshakeError,
                            HealthStatus, NormalizeRequest, Unavailable)


def test_client_name_and_server_hello(server, make_client):
    c = make_client(server, client_name="pytest/1")
    assert c.server_name
    assert c.max_concurrent_streams > 0 and c.initial_stream_credit > 0
    if server.kind == "fake":
        assert "pytest/1" in server.client_names


def test_default_client_name(server, make_client):
    make_client(server).health()
    if server.kind == "fake":
        assert any(n.startswith("adrnorm-client-python/") for n in server.client_names)


def test_untrusted_client_certificate_is_refused_clearly(server, make_client):
    with pytest.raises(HandshakeError) as e:
        make_client(server, "client-untrusted").health()
    err = e.value
    assert isinstance(err, ssl.SSLError) and isinstance(err, ConnectionError)
    assert "client-untrusted.pem" in str(err) and "refused" in str(err)


def test_expired_client_certificate_is_refused(server, make_client):
    with pytest.raises(HandshakeError, match="client-expired.pem"):
        make_client(server, "client-expired").health()


def test_missing_client_certificate(server, make_client):
    with pytest.raises(HandshakeError, match="client certificate"):
        make_client(server, None).health()


def test_server_certificate_from_another_ca(server, certs):
    with pytest.raises(HandshakeError, match="other-ca.pem"):
        Client(server.host, server.port, ca=certs / "other-ca.pem", cert=certs / "client-a.pem",
               key=certs / "client-a.key")


def test_unreadable_files_name_the_file(server, certs, tmp_path):
    with pytest.raises(ClientConfigError, match="nope.pem"):
        Client(server.host, server.port, ca=tmp_path / "nope.pem", cert=certs / "client-a.pem",
               key=certs / "client-a.key")
    with pytest.raises(ClientConfigError, match="client-b.key"):
        Client(server.host, server.port, ca=certs / "ca.pem", cert=certs / "client-a.pem",
               key=certs / "client-b.key")


def test_nothing_listening_is_a_connection_error(certs):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        Client("127.0.0.1", port, ca=certs / "ca.pem", cert=certs / "client-a.pem",
               key=certs / "client-a.key")


def test_eight_threads_share_one_client(client):
    mentions = ["头晕", "恶心想吐", "头疼", "皮肤痒", "拉肚子", "睡不着", "没力气", "犯困头晕"]
    expected = {m: client.normalize(m, top_k=10).pt_codes for m in mentions}
    expected_top = {m: client.retrieve(m, top_k=3).candidates[0].term.pt_code for m in mentions}
    errors = []

    def work(t):
        try:
            for i in range(15):
                m = mentions[(t + i) % len(mentions)]
                r = client.normalize(m, id=f"{t}-{i}", top_k=10)
                assert r.id == f"{t}-{i}" and r.pt_codes == expected[m]
                assert client.retrieve(m, top_k=3).candidates[0].term.pt_code == expected_top[m]
                batch = [mentions[(t + i + k) % len(mentions)] for k in range(20)]
                got = list(client.normalize_stream(batch, top_k=10))
                assert [r.pt_codes for r in got] == [expected[b] for b in batch]
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors[0]


@pytest.mark.fake_only
def test_max_concurrent_streams_is_respected(certs, make_client):
    from fake_server import FakeServer
    srv = FakeServer(str(certs), max_concurrent_streams=2)
    try:
        c = make_client(srv)
        assert c.max_concurrent_streams == 2
        results, errors = [], []

        def work(t):
            try:
                for i in range(5):
                    results.append(c.normalize(f"__sleep_ms=20__头晕{t}", id=f"{t}.{i}").id)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert not errors and len(results) == 40
        assert srv.max_open_streams <= 2 and not srv.protocol_errors
    finally:
        srv.stop()


@pytest.mark.fake_only
def test_unary_deadline(client):
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        client.normalize("__sleep_ms=3000__头晕", timeout=0.3)
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 1.5
    assert client.health() == HealthStatus.SERVING


def test_client_default_timeout_applies(server, make_client):
    c = make_client(server, timeout=0.0001)
    with pytest.raises(DeadlineExceeded):
        for _ in c.normalize_stream(["头晕恶心"] * 10000):
            pass
    assert c.health(timeout=30) == HealthStatus.SERVING


def test_shutdown_mid_stream_raises_unavailable(fresh_server, make_client):
    """The only server dies mid-stream and does not come back: the stream
    waits failover_timeout for a server, then raises UNAVAILABLE."""
    c = make_client(fresh_server, timeout=None, failover_timeout=1.0)

    def endless():
        i = 0
        while True:
            i += 1
            yield f"头晕恶心{i % 5}"

    got = 0
    start = None
    with pytest.raises(Unavailable, match="no other server became ready within 1s"):
        for _ in c.normalize_stream(endless()):
            got += 1
            if got == 50:
                start = time.monotonic()
                fresh_server.kill()
    assert start is not None and time.monotonic() - start < 10
    with pytest.raises(Unavailable, match="no server is ready"):
        c.health()
    assert not c.connected and not c.closed


@pytest.mark.fake_only
def test_shutdown_during_unary_call_without_timeout(fresh_server, make_client):
    c = make_client(fresh_server, timeout=None)
    threading.Timer(0.3, fresh_server.kill).start()
    start = time.monotonic()
    with pytest.raises(Unavailable):
        c.normalize("__sleep_ms=30000__头晕")
    assert time.monotonic() - start < 5


@pytest.mark.fake_only
def test_connection_dropped_mid_call(client, make_client, server):
    c = make_client(server)
    with pytest.raises(Unavailable):
        c.normalize("__close__")
    with pytest.raises(Unavailable):
        c.health()


def test_closed_client_raises_unavailable(server, make_client):
    c = make_client(server)
    c.close()
    with pytest.raises(Unavailable, match="closed"):
        c.health()


def test_context_manager_closes(server, certs):
    with Client(server.host, server.port, ca=certs / "ca.pem", cert=certs / "client-b.pem",
                key=certs / "client-b.key") as c:
        assert c.health() == HealthStatus.SERVING
    assert c.closed


@pytest.mark.fake_only
def test_goaway_moves_the_stream_to_a_new_connection(fresh_server, make_client):
    """GoAway from the only server: the stream's unanswered items go again on
    a new connection to it, each answered once and in order; new calls wait
    for nothing (UNAVAILABLE while no connection is ready, then served)."""
    c = make_client(fresh_server, backoff_initial=0.05, backoff_max=0.2)
    items = (NormalizeRequest(f"头晕{i}", id=str(i)) for i in range(2000))
    gen = c.normalize_stream(items, window=64)
    first = next(gen)
    fresh_server.goaway()
    rest = list(gen)
    assert [first.id] + [r.id for r in rest] == [str(i) for i in range(2000)]
    deadline = time.monotonic() + 5
    while not c.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert c.health() == HealthStatus.SERVING
    assert c.servers[0].connects >= 2 and len(fresh_server.connections) >= 2


@pytest.mark.fake_only
def test_goaway_fails_calls_it_did_not_process_when_no_other_server(fresh_server, make_client):
    c = make_client(fresh_server, backoff_initial=5.0, backoff_max=5.0)
    outcome = {}

    def slow(key, mention):
        try:
            outcome[key] = c.normalize(mention).ok
        except Unavailable as e:
            outcome[key] = e

    t1 = threading.Thread(target=slow, args=("kept", "__sleep_ms=500__头晕"))
    t1.start()
    deadline = time.monotonic() + 5
    while len(fresh_server.open_stream_ids()) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    t2 = threading.Thread(target=slow, args=("dropped", "__sleep_ms=500__恶心"))
    t2.start()
    while len(fresh_server.open_stream_ids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    first = fresh_server.open_stream_ids()[0]
    fresh_server.goaway(last_stream_id=first)
    t1.join(10)
    t2.join(10)
    assert outcome["kept"] is True
    assert isinstance(outcome["dropped"], Unavailable) and "did not process" in str(outcome["dropped"])


def test_idle_connection_is_pinged(server, make_client):
    before = getattr(server, "pings_received", 0)
    c = make_client(server, keepalive_interval=0.1, keepalive_timeout=2.0)
    time.sleep(0.8)
    assert c.health() == HealthStatus.SERVING and not c.closed
    if server.kind == "fake":
        assert server.pings_received - before >= 3


def test_ping_round_trip(client):
    assert 0 < client.ping(timeout=5) < 5


@pytest.mark.fake_only
def test_dead_server_detected_by_keepalive(fresh_server, make_client):
    fresh_server.answer_pings = False
    c = make_client(fresh_server, timeout=None, keepalive_interval=0.1, keepalive_timeout=0.4)
    start = time.monotonic()
    with pytest.raises(Unavailable, match="Ping"):
        c.normalize("__sleep_ms=30000__头晕")
    assert time.monotonic() - start < 3


@pytest.mark.fake_only
def test_server_ping_is_answered(client, server):
    client.health()
    server.ping_clients(b"are-you-there")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(b"are-you-there" in c.pongs for c in server.connections):
            break
        time.sleep(0.01)
    assert any(b"are-you-there" in c.pongs for c in server.connections)


@pytest.mark.fake_only
def test_server_that_never_says_hello(fresh_server, make_client):
    fresh_server.send_hello = False
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="did not answer the protocol Hello"):
        make_client(fresh_server, connect_timeout=0.5)
    assert time.monotonic() - start < 3


@pytest.mark.fake_only
def test_protocol_version_mismatch(fresh_server, make_client):
    fresh_server.protocol_version = 2
    with pytest.raises(ConnectionError, match="protocol version 2"):
        make_client(fresh_server)


def test_metadata_goes_with_every_call(server, make_client):
    c = make_client(server, metadata={"request-id": "pv-42"})
    c.health()
    list(c.normalize_stream(["头晕"]))
    if server.kind == "fake":
        assert server.metadata[-2:] == [{"request-id": "pv-42"}] * 2
