"""Several real ``adrnorm serve`` replicas on loopback: a 20,000-item stream
survives one replica killed (SIGKILL) and another drained (SIGTERM), every
item answered once and in order; reconnection after a restart on the same
port; the same stream through HAProxy (Deploy/haproxy/adrnorm.cfg)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import Replica

from adrnorm_client import Client, HealthStatus, NormalizeRequest, StatusCode, Unavailable

N = 20000
MENTIONS = ["吃完药后一直犯困头晕", "恶心想吐", "头疼得厉害", "皮肤痒起红疹", "拉肚子三天", "睡不着觉",
            "浑身没力气", "头晕恶心", "吐了两次", "犯困"]


def mention(i: int) -> str:
    return "   " if i % 4999 == 7 else f"{MENTIONS[i % len(MENTIONS)]}{i % 37}"


def items(n: int):
    for i in range(n):
        yield NormalizeRequest(mention(i), id=f"m{i}", top_k=20)


def wait_for(condition, limit: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit:
            pytest.fail(f"{what}: not within {limit}s")
        time.sleep(0.01)
    return time.monotonic() - start


def serving(c: Client, by_address) -> Replica:
    """The replica the client's stream is on (the one with pairs outstanding)."""
    busy = [s.address for s in c.servers if s.outstanding_pairs > 0]
    assert len(busy) == 1, c.servers
    return by_address[busy[0]]


def check_results(c: Client, got) -> None:
    assert len(got) == N
    assert [r.id for r in got] == [f"m{i}" for i in range(N)]
    bad = [i for i, r in enumerate(got) if not r.ok]
    assert bad == [i for i in range(N) if i % 4999 == 7]
    assert all(got[i].error.code == StatusCode.INVALID_ARGUMENT for i in bad)
    # Each answer is its own mention's (the lexical scorer is deterministic).
    expected = {}
    for i in range(0, N, 997):
        if got[i].ok:
            m = mention(i)
            expected.setdefault(m, c.normalize(m, top_k=20).pt_codes)
            assert got[i].pt_codes == expected[m], i


def test_stream_survives_a_killed_and_a_drained_replica(replicas, tls):
    a, b = replicas(2)
    by_address = {a.address: a, b.address: b}
    with Client([a.address, b.address], **tls, timeout=300, backoff_initial=0.05, backoff_max=0.5) as c:
        got = []
        killed = drained = None
        restart = None
        for r in c.normalize_stream(items(N), window=256):
            got.append(r)
            if len(got) == 5000:
                killed = serving(c, by_address)
                killed.kill()
                restart = threading.Thread(target=killed.start)
                restart.start()
            elif len(got) == 12000:
                restart.join(60)
                # The killed replica is back on its port and the client has
                # reconnected to it by itself.
                wait_for(lambda: c.servers[[a, b].index(killed)].state == "ready", 30,
                         "reconnection to the restarted replica")
                drained = serving(c, by_address)
                assert drained is not killed
                drained.drain()
        check_results(c, got)
        assert drained.wait_exit() == 0
        states = {s.address: s for s in c.servers}
        assert states[killed.address].connects == 2
        assert states[drained.address].state in ("down", "connecting")


def test_reconnect_after_a_restart_on_the_same_port(replicas, tls):
    (a,) = replicas(1)
    with Client(a.address, **tls, timeout=30, backoff_initial=0.05, backoff_max=0.5) as c:
        assert c.health() == HealthStatus.SERVING
        a.kill()
        wait_for(lambda: not c.connected, 5, "noticing the killed server")
        with pytest.raises(Unavailable, match="no server is ready"):
            c.normalize("头晕")
        a.start()
        wait_for(lambda: c.connected, 10, "reconnecting after the restart")
        assert c.normalize("头晕").ok
        assert c.servers[0].connects == 2


def test_stream_through_haproxy_survives_a_killed_replica(replicas, balancer, tls):
    a, b = replicas(2)
    lb = balancer([a, b])
    direct = {r.address: Client(r.address, **tls, timeout=10) for r in (a, b)}
    try:
        def scored(r: Replica) -> int:
            cache = direct[r.address].info().cache
            return cache.hits + cache.misses

        with Client(lb.address, **tls, timeout=300, backoff_initial=0.05, backoff_max=0.5) as c:
            got = []
            for r in c.normalize_stream(items(N), window=256):
                got.append(r)
                if len(got) == 5000:
                    # HAProxy chose the replica: the one that has scored.
                    busy = [r for r in (a, b) if scored(r) > 0]
                    assert len(busy) == 1, [scored(r) for r in (a, b)]
                    direct.pop(busy[0].address).close()
                    busy[0].kill()
            check_results(c, got)
            assert c.servers[0].connects >= 2
    finally:
        for d in direct.values():
            d.close()
