"""The server going away under the client (issue 15): TLS close_notify, TCP
EOF, RST and a half-closed socket, with the client idle or with a call in
flight. Every call must end (UNAVAILABLE, or DEADLINE_EXCEEDED at its own
timeout) and never block longer. Each call runs under a hard wall-clock guard
so that a regression fails the test instead of hanging the suite.

The scripted peer (tests/scripted_peer.py) stands in for the server in every
mode; the last test stops the suite's own server (``adrnorm serve`` with
ADRNORM_REAL_SERVER=1: SIGTERM) the graceful way.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Tuple

import pytest
from scripted_peer import ScriptedPeer

from adrnorm_client import Client, DeadlineExceeded, HealthStatus, RPCError, Unavailable

GUARD = 15.0  # seconds: a call still blocked after this is a hang
PROMPT = 2.0  # seconds: "at once", well under the calls' timeout
CALL_TIMEOUT = 5.0
# What the UNAVAILABLE message says the cause was.
CAUSE = {"close_notify": "close_notify", "close_notify_open": "close_notify", "goaway_close_notify": "GoAway",
         "fin": "without a TLS close_notify", "rst": "reset", "half_close": "without a TLS close_notify"}


def bounded(fn: Callable[[], Any], limit: float = GUARD) -> Tuple[Any, float]:
    """Runs ``fn`` on a daemon thread; returns (its result or exception,
    seconds taken). Fails the test if it is still running after ``limit``."""
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as e:  # handed to the test
            box["result"] = e

    start = time.monotonic()
    t = threading.Thread(target=run, name="bounded-call", daemon=True)
    t.start()
    t.join(limit)
    if t.is_alive():
        pytest.fail(f"the call was still blocked after {limit}s (a hang)")
    return box["result"], time.monotonic() - start


@pytest.fixture
def peer(certs):
    made = []

    def make(**kwargs) -> ScriptedPeer:
        p = ScriptedPeer(str(certs), **kwargs)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


def connect(peer: ScriptedPeer, certs, **kwargs) -> Client:
    def make() -> Client:
        return Client(peer.host, peer.port, ca=certs / "ca.pem", cert=certs / "client-a.pem",
                      key=certs / "client-a.key", keepalive_interval=None, connect_timeout=10, **kwargs)

    c, _ = bounded(make)
    if isinstance(c, BaseException):
        raise c
    assert peer.ready.wait(5)
    return c


def wait_closed(c: Client, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while c.connected and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("how", ["close_notify", "close_notify_open", "goaway_close_notify", "fin", "rst"])
def test_server_ends_connection_while_idle(peer, certs, how):
    """The issue's case: the server ends the connection while the client is
    idle; the client notices on its own, and the next call fails at once."""
    p = peer()
    c = connect(p, certs)
    try:
        p.end(how)
        wait_closed(c)
        assert not c.connected, f"the client did not notice the server's {how} within 5 s"
        err, took = bounded(lambda: c.health(timeout=CALL_TIMEOUT))
        assert isinstance(err, Unavailable), repr(err)
        assert isinstance(err, RPCError)
        assert took < PROMPT, f"UNAVAILABLE took {took:.2f}s"
        assert f"{p.host}:{p.port}" in str(err) and CAUSE[how] in str(err), str(err)
        # Later calls fail fast too, every kind.
        for call in (lambda: c.normalize("头晕", timeout=CALL_TIMEOUT), lambda: c.ping(timeout=CALL_TIMEOUT),
                     lambda: list(c.normalize_stream(["头晕"], timeout=CALL_TIMEOUT))):
            err, took = bounded(call)
            assert isinstance(err, Unavailable) and took < PROMPT, (repr(err), took)
    finally:
        bounded(c.close)


def test_server_half_closes_and_stays_silent_while_idle(peer, certs):
    """shutdown(SHUT_WR) from the server, then nothing: no more responses can
    come, so the call fails (or at worst times out at its own timeout)."""
    p = peer()
    c = connect(p, certs)
    try:
        p.end("half_close")
        time.sleep(0.2)
        err, took = bounded(lambda: c.health(timeout=CALL_TIMEOUT))
        assert isinstance(err, (Unavailable, DeadlineExceeded)), repr(err)
        assert took < CALL_TIMEOUT + 1.0, f"took {took:.2f}s"
        assert isinstance(err, Unavailable) and took < PROMPT, (repr(err), took)
        assert not c.connected
    finally:
        bounded(c.close)


@pytest.mark.parametrize("how", ["close_notify", "close_notify_open", "goaway_close_notify", "fin", "rst",
                                 "half_close"])
def test_server_ends_connection_with_a_call_in_flight(peer, certs, how):
    """A call is waiting for its answer when the server goes away: it fails
    with UNAVAILABLE at once, not at its timeout."""
    p = peer()
    c = connect(p, certs)
    try:
        threading.Timer(0.0, lambda: (p.call_seen.wait(10), p.end(how))).start()
        err, took = bounded(lambda: c.normalize("头晕", timeout=3 * CALL_TIMEOUT))
        assert p.call_seen.is_set(), "the call never reached the peer"
        assert isinstance(err, Unavailable), repr(err)
        assert took < PROMPT, f"UNAVAILABLE took {took:.2f}s"
        assert not c.connected
        err, took = bounded(lambda: c.health(timeout=CALL_TIMEOUT))
        assert isinstance(err, Unavailable) and took < PROMPT, (repr(err), took)
    finally:
        bounded(c.close)


def test_call_without_timeout_in_flight_when_server_sends_close_notify(peer, certs):
    """No timeout at all: only the connection's end can end the call."""
    p = peer()
    c = connect(p, certs, timeout=None)
    try:
        threading.Timer(0.0, lambda: (p.call_seen.wait(10), p.end("close_notify_open"))).start()
        err, took = bounded(lambda: c.normalize("头晕"))
        assert isinstance(err, Unavailable) and took < PROMPT, (repr(err), took)
    finally:
        bounded(c.close)


def test_silent_server_call_ends_at_its_timeout(peer, certs):
    """The connection stays up but nothing answers: DEADLINE_EXCEEDED at the
    call's timeout, never later."""
    p = peer()
    c = connect(p, certs)
    try:
        err, took = bounded(lambda: c.health(timeout=0.5))
        assert isinstance(err, DeadlineExceeded), repr(err)
        assert 0.5 <= took < 0.5 + PROMPT, f"took {took:.2f}s"
    finally:
        bounded(c.close)


def test_calls_behind_a_stalled_write_end_at_their_timeout(peer, certs):
    """A write blocked on a server that stopped reading (no keepalive to end
    it) holds the send side: every other call still ends at its own timeout."""
    p = peer()
    c = connect(p, certs, timeout=None)
    try:
        # A call already sent, whose deadline passes while the send side is stuck.
        early: dict = {}
        waiting = threading.Thread(
            target=lambda: early.update(zip(("err", "took"), bounded(lambda: c.normalize("头晕", timeout=2.0)))),
            daemon=True)
        waiting.start()
        assert p.call_seen.wait(5)
        p.stop_reading()
        big = "头" * (16 * 1024 * 1024)  # far larger than the socket buffers
        stuck = threading.Thread(target=lambda: bounded(lambda: c.normalize(big), 60), daemon=True)
        stuck.start()
        time.sleep(1.5)
        assert stuck.is_alive(), "the big write did not block"
        waiting.join(GUARD)
        # Its Cancel cannot go out now; the call does not wait for that.
        assert isinstance(early["err"], DeadlineExceeded), repr(early["err"])
        assert early["took"] < 2.0 + 0.5, f"took {early['took']:.2f}s"
        for call in (lambda: c.health(timeout=0.5), lambda: c.ping(timeout=0.5),
                     lambda: list(c.normalize_stream(["头晕"], timeout=0.5))):
            err, took = bounded(call)
            assert isinstance(err, DeadlineExceeded), repr(err)
            assert took < 0.5 + PROMPT, f"took {took:.2f}s"
        # Closing the client ends the stalled write too.
        bounded(c.close)
        stuck.join(GUARD)
        assert not stuck.is_alive()
    finally:
        bounded(c.close)


def test_a_call_whose_own_write_is_blocked_ends_at_its_timeout(peer, certs):
    """The call's own request does not fit the socket buffers of a server
    that stopped reading: the call ends at its timeout all the same, the
    connection stays up, and once the server reads again the rest of the
    request goes out, then the call's Cancel, with the frames intact."""
    p = peer()
    c = connect(p, certs, timeout=None)
    try:
        p.stop_reading()
        big = "头" * (8 * 1024 * 1024)  # 24 MB, far larger than the socket buffers
        err, took = bounded(lambda: c.normalize(big, timeout=1.0))
        assert isinstance(err, DeadlineExceeded), repr(err)
        assert 1.0 <= took < 1.0 + PROMPT, f"took {took:.2f}s"
        assert "not reading" in str(err), str(err)
        assert c.connected, "a slow server is not a failed connection"
        # Calls behind it end at their timeouts too (nothing of theirs is sent).
        for call in (lambda: c.health(timeout=0.5), lambda: c.ping(timeout=0.5),
                     lambda: list(c.normalize_stream(["头晕"], timeout=0.5))):
            err, took = bounded(call)
            assert isinstance(err, DeadlineExceeded), repr(err)
            assert took < 0.5 + PROMPT, f"took {took:.2f}s"
        p.resume_reading()
        deadline = time.monotonic() + 10
        while "cancel" not in p.frames and time.monotonic() < deadline:
            time.sleep(0.02)
        assert p.frames == ["hello", "call", "cancel"], (p.frames, p.errors)
        assert not p.errors and c.connected
    finally:
        bounded(c.close)


@pytest.mark.parametrize("how", ["close_notify", "fin", "rst"])
def test_server_ends_connection_instead_of_hello(peer, certs, how):
    """The server ends the connection right after the TLS handshake: the
    constructor fails at once instead of waiting out connect_timeout."""
    p = peer(hello=False)
    threading.Timer(0.0, lambda: (p.ready.wait(10), time.sleep(0.1), p.end(how))).start()

    def make() -> Client:
        return Client(p.host, p.port, ca=certs / "ca.pem", cert=certs / "client-a.pem",
                      key=certs / "client-a.key", keepalive_interval=None, connect_timeout=10)

    err, took = bounded(make)
    if isinstance(err, Client):
        err.close()
    assert isinstance(err, ConnectionError), repr(err)
    assert took < 5, f"took {took:.2f}s"


def test_graceful_server_shutdown_while_idle(fresh_server, make_client):
    """Issue 15 as reported: connect, stop the server gracefully (SIGTERM for
    ``adrnorm serve``: GoAway, close_notify, FIN), wait, call."""
    c = make_client(fresh_server, keepalive_interval=None)
    assert c.health(timeout=30) == HealthStatus.SERVING
    fresh_server.terminate()
    wait_closed(c)
    err, took = bounded(lambda: c.health(timeout=CALL_TIMEOUT))
    assert isinstance(err, Unavailable), repr(err)
    assert took < PROMPT, f"UNAVAILABLE took {took:.2f}s"
    assert not c.connected
