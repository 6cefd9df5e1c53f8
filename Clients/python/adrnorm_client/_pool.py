"""Several servers behind one Client: a connection per server, readiness by
Health, reconnection with capped exponential backoff and jitter, and the
choice of the server with the fewest outstanding pairs.

Each server has a supervisor thread that (re)connects it: TLS, Hello, then a
Health call that must answer SERVING before the server gets calls. The
connection's reader wakes the supervisor when the connection fails or the
server sends GoAway; the supervisor then waits out a backoff (``initial``
doubling up to ``maximum`` seconds, each delay drawn from its upper half) and
connects again. A draining connection (GoAway) keeps its calls in flight but
gets no new ones. Calls never wait for a reconnection: when no server is
ready they fail at once with UNAVAILABLE (a stream that lost its server
waits, within its deadline, see client.py).
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from ._connection import Connection, fresh, remaining
from ._proto.adrnorm.v1 import normalizer_pb2 as pb
from .errors import (ClientConfigError, DeadlineExceeded, HandshakeError, Internal, RPCError, StatusCode,
                     Unavailable, error_for_status)

log = logging.getLogger("adrnorm_client")

_SERVICE = "/adrnorm.v1.Normalizer/"


def parse_address(address: object) -> Tuple[str, int]:
    """``"host:port"``, ``"[v6]:port"`` or ``(host, port)`` -> (host, port)."""
    if isinstance(address, tuple) and len(address) == 2:
        host, port = address
    elif isinstance(address, str):
        text = address.strip()
        if text.startswith("["):
            host, sep, rest = text[1:].partition("]")
            port = rest[1:] if sep and rest.startswith(":") else ""
        else:
            host, _, port = text.rpartition(":")
        if not host or not port:
            raise ClientConfigError(f"server address {address!r}: expected HOST:PORT or [IPV6]:PORT")
    else:
        raise ClientConfigError(f"server address {address!r}: expected 'HOST:PORT' or a (host, port) tuple")
    try:
        port_n = int(port)
    except (TypeError, ValueError):
        raise ClientConfigError(f"server address {address!r}: port {port!r} is not a number") from None
    if not 0 < port_n < 65536:
        raise ClientConfigError(f"server address {address!r}: port {port_n} is out of range")
    return str(host), port_n


def unary_call(conn: Connection, name: str, payload: bytes, deadline: Optional[float],
               metadata: Optional[dict]) -> bytes:
    """One unary call on ``conn``; returns the response payload. An
    Unavailable raised here carries ``answered`` (a response had arrived)."""
    s = conn.open_stream(_SERVICE + name, deadline, payload=payload, half_close=True, metadata=metadata)
    try:
        with s.lock:
            while not s.finished:
                left = remaining(deadline)
                if left is not None and left <= 0:
                    raise DeadlineExceeded(f"{name} did not finish within its timeout")
                s.cond.wait(left)
    except BaseException:
        conn.cancel(s, "deadline exceeded or interrupted")
        raise
    if s.error is not None:
        err = fresh(s.error)
        err.answered = bool(s.messages)  # type: ignore[attr-defined]
        raise err
    code, message = s.status  # type: ignore[misc]
    if code != StatusCode.OK:
        raise error_for_status(code, message)
    if len(s.messages) != 1:
        raise Internal(f"{name}: the server sent {len(s.messages)} responses to a unary call")
    return s.messages[0]


@dataclass(frozen=True)
class ServerState:
    """One server of a :class:`~adrnorm_client.Client`, as :attr:`Client.servers` reports it."""

    address: str
    #: "ready" (takes calls), "connecting", "draining" (GoAway: its calls in
    #: flight finish, new ones go elsewhere), "down" (waiting to reconnect),
    #: "closed" (the client was closed)
    state: str
    outstanding_pairs: int  #: pairs of this client's calls in flight there
    connects: int  #: connections made (1 + reconnections)
    last_error: str  #: why the last connection or attempt failed ("" if none)


class _Server:
    def __init__(self, pool: "Pool", host: str, port: int) -> None:
        self.pool = pool
        self.host, self.port = host, port
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.conn: Optional[Connection] = None
        self.state = "connecting"
        self.outstanding = 0
        self.connects = 0
        self.first_attempt_done = False
        self.last_error: Optional[BaseException] = None
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._supervise, name=f"adrnorm-supervisor-{self.address}",
                                       daemon=True)

    def add(self, pairs: int) -> None:
        with self.pool.lock:
            self.outstanding += pairs

    def usable(self) -> Optional[Connection]:
        c = self.conn
        if self.state == "ready" and c is not None and not c.closed and not c.draining:
            return c
        return None

    def _set(self, state: str, conn: Optional[Connection] = None, error: Optional[BaseException] = None) -> None:
        with self.pool.cond:
            self.state = state
            if conn is not None:
                self.conn = conn
            if error is not None:
                self.last_error = error
            self.pool.cond.notify_all()

    def _connect(self) -> Connection:
        pool = self.pool
        conn = pool.connect(self.host, self.port, self.wake.set)
        try:
            deadline = time.monotonic() + pool.connect_timeout
            resp = pb.HealthResponse.FromString(
                unary_call(conn, "Health", pb.HealthRequest().SerializeToString(), deadline, pool.metadata))
            if resp.status != pb.HealthResponse.SERVING:
                raise Unavailable(f"{self.address} answered Health with "
                                  f"{pb.HealthResponse.ServingStatus.Name(resp.status)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _supervise(self) -> None:
        pool = self.pool
        failures = 0
        while not pool.closed:
            if failures:
                delay = min(pool.backoff_max, pool.backoff_initial * 2 ** (failures - 1))
                self.wake.clear()
                # Jitter: replicas that went down together are not all
                # reconnected to in the same instant.
                if self.wake.wait(delay * random.uniform(0.5, 1.0)) and pool.closed:
                    break
                if pool.closed:
                    break
            self._set("connecting")
            try:
                conn = self._connect()
            except (ConnectionError, RPCError, OSError) as e:
                failures += 1
                self._set("down", error=e)
                if self.first_attempt_done:
                    log.info("adrnorm server %s: reconnection failed (%s); next try in up to %.1fs",
                             self.address, e, min(pool.backoff_max, pool.backoff_initial * 2 ** (failures - 1)))
                self.first_attempt_done = True
                with pool.cond:
                    pool.cond.notify_all()
                continue
            if pool.closed:
                conn.close()
                break
            with pool.cond:
                self.connects += 1
                if self.connects > 1:
                    log.info("adrnorm server %s: reconnected", self.address)
                self.first_attempt_done = True
            self._set("ready", conn)
            failures = 0
            # Until the connection fails or drains (its reader wakes us).
            while not pool.closed and not conn.closed and not conn.draining:
                self.wake.wait(1.0)
                self.wake.clear()
            if pool.closed:
                break
            why = conn._error or conn._unusable()
            if conn.draining and not conn.closed:
                self._set("draining", error=why)
                log.info("adrnorm server %s is draining (GoAway): new calls go elsewhere", self.address)
            else:
                self._set("down", error=why)
                log.warning("adrnorm server %s: connection lost (%s)", self.address,
                            why.message if isinstance(why, RPCError) else why)
            failures = 1
        self._set("closed")

    def snapshot(self) -> ServerState:
        err = self.last_error
        state = self.state
        if state == "ready" and self.usable() is None and self.conn is not None:
            # The supervisor has not caught up yet: say what the connection knows.
            state = "draining" if self.conn.draining and not self.conn.closed else "down"
            err = self.conn._error or self.conn._unusable() or err
        text = "" if err is None else (err.message if isinstance(err, RPCError) else str(err))
        return ServerState(self.address, state, self.outstanding, self.connects, text)


class Pool:
    """The servers of one Client. Thread-safe."""

    def __init__(self, addresses: Sequence[Tuple[str, int]],
                 connect: Callable[[str, int, Callable[[], None]], Connection], *,
                 connect_timeout: float, backoff_initial: float, backoff_max: float,
                 metadata: Optional[dict]) -> None:
        if backoff_initial <= 0 or backoff_max < backoff_initial:
            raise ClientConfigError(f"backoff: need 0 < backoff_initial ({backoff_initial}) <= backoff_max "
                                    f"({backoff_max})")
        self.connect = connect
        self.connect_timeout = connect_timeout
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.metadata = metadata
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.closed = False
        # Ties go round from a random start, so that clients started
        # together (Spark tasks) do not all begin on the first server.
        self._turn = itertools.count(random.randrange(max(1, len(addresses))))
        self.servers: List[_Server] = [_Server(self, h, p) for h, p in addresses]

    def start(self) -> None:
        """Connects every server (in parallel); returns once each has had its
        first try. Raises that error when no server could be connected."""
        for s in self.servers:
            s.thread.start()
        with self.cond:
            while not all(s.first_attempt_done for s in self.servers):
                self.cond.wait(0.5)
            if any(s.state == "ready" for s in self.servers):
                return
        errors = [s.last_error for s in self.servers]
        self.close()
        if len(errors) == 1 and errors[0] is not None:
            raise errors[0]
        text = "; ".join(f"{s.address}: {e}" for s, e in zip(self.servers, errors))
        handshake = next((e for e in errors if isinstance(e, HandshakeError)), None)
        if handshake is not None:
            raise HandshakeError(f"no server could be connected: {text}", handshake.alert)
        rpc = next((e for e in errors if isinstance(e, RPCError) and not isinstance(e, Unavailable)), None)
        if rpc is not None:
            raise type(rpc)(f"no server could be connected: {text}", rpc.code)
        raise ConnectionError(f"no server could be connected: {text}")

    def pick(self, exclude: Optional[Connection] = None) -> Optional[Tuple[_Server, Connection]]:
        """The ready server with the fewest outstanding pairs (ties in turn),
        other than the connection ``exclude``; None when there is none."""
        with self.lock:
            best: Optional[Tuple[_Server, Connection]] = None
            n = len(self.servers)
            start = next(self._turn) % n
            for i in range(n):
                s = self.servers[(start + i) % n]
                c = s.usable()
                if c is None or c is exclude:
                    continue
                if best is None or s.outstanding < best[0].outstanding:
                    best = (s, c)
            return best

    def wait_pick(self, exclude: Optional[Connection], until: Optional[float]) -> Optional[Tuple[_Server, Connection]]:
        """:meth:`pick`, waiting until ``until`` (monotonic; None: no limit)
        for a server to become ready."""
        while True:
            got = self.pick(exclude)
            if got is not None or self.closed:
                return got
            with self.cond:
                left = remaining(until)
                if left is not None and left <= 0:
                    return None
                self.cond.wait(0.2 if left is None else min(0.2, left))

    def unavailable(self) -> Unavailable:
        if self.closed:
            return Unavailable("the client was closed")
        parts = []
        for s in self.servers:
            st = s.snapshot()
            parts.append(f"{st.address} {st.state}" + (f" ({st.last_error})" if st.last_error else ""))
        return Unavailable("no server is ready: " + "; ".join(parts))

    def any_connection(self) -> Optional[Connection]:
        for s in self.servers:
            if s.usable() is not None:
                return s.conn
        for s in self.servers:
            if s.conn is not None:
                return s.conn
        return None

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        for s in self.servers:
            s.wake.set()
            if s.conn is not None:
                s.conn.close()
