"""The adrnorm client: one mutually authenticated TLS connection, many calls."""

from __future__ import annotations

import os
import ssl
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ._connection import Connection, Stream, fresh, remaining
from ._pool import Pool, ServerState, log, parse_address, unary_call
from ._proto.adrnorm.v1 import normalizer_pb2 as pb
from ._proto.adrnorm.wire.v1 import frame_pb2 as wire
from ._wire import encode_frame
from .errors import (ClientConfigError, DataLoss, DeadlineExceeded, Internal, InvalidArgument, StatusCode,
                     Unavailable, error_for_status)
from .types import (HealthStatus, ItemError, NormalizeRequest, NormalizeResult, PairScore, RetrievalMode,
                    RetrieveResult, Scorer, ScorePair, ServerInfo, Template)

__all__ = ["Client", "ServerState"]

_SERVICE = "/adrnorm.v1.Normalizer/"


class _Default:
    def __repr__(self) -> str:
        return "<client default>"


#: Use the client's default timeout (the ``timeout`` given to :class:`Client`).
DEFAULT = _Default()
TimeoutArg = Union[None, float, _Default]


def _pairs(top_k: int) -> int:
    """The pairs one normalization scores, for choosing the least-loaded
    server (0: the server's default, 100; a server may cap it lower)."""
    return top_k if top_k > 0 else 100


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("adrnorm-client")
    except Exception:
        return "dev"


class Client:
    """Connections to one or more adrnorm servers, shared safely by any number of threads.

    ``servers`` is one address (``"host:port"``, ``"[v6]:port"``, or a host
    with ``port`` given as the second argument) or a list of them: replicas
    of the same service. The client keeps one connection per address (list an
    address twice for two connections, e.g. to a load balancer), each checked
    with Health before it gets calls, pinged when quiet, and reconnected with
    capped exponential backoff and jitter (``backoff_initial`` doubling up to
    ``backoff_max`` seconds) after GoAway or a lost connection. Each call goes
    to the ready server with the fewest outstanding pairs (a ``normalize``
    counts its ``top_k``, a ``score`` its pairs); a draining server (GoAway)
    gets none.

    Failover: every method is idempotent, so a call that fails with
    ``Unavailable`` before any response is retried once on another ready
    connection. :meth:`normalize_stream` keeps its unanswered items and sends
    them again, in order, to another server when its server dies or drains
    (waiting up to ``failover_timeout`` seconds for one to be ready): every
    item is answered exactly once, in input order. Timeouts still bound
    everything.

    ``ca`` is the CA file that signed the servers' certificates; ``cert`` and
    ``key`` are this client's certificate and private key (PEM files; the
    server requires them). ``timeout`` (seconds, None = none) is the default
    for every call; each method takes its own ``timeout=`` too. The
    constructor connects to every server (in parallel) and returns when each
    has had its first try; it raises when none could be connected:
    :class:`~adrnorm_client.HandshakeError` when either side refuses the
    other's certificate, :class:`ConnectionError` otherwise. Servers that
    could not be reached are retried in the background.

    Calls raise :class:`~adrnorm_client.RPCError` subclasses;
    :class:`~adrnorm_client.Unavailable` when no server is ready (calls do not
    wait for a reconnection).

    Use it as a context manager, or call :meth:`close`::

        with Client(["10.0.0.5:7443", "10.0.0.6:7443"], ca="Certs/out/ca.pem",
                    cert="Certs/out/client-a.pem", key="Certs/out/client-a.key") as c:
            print(c.normalize("吃完药后一直犯困头晕").pt_codes)
    """

    def __init__(self, servers: Union[str, Tuple[str, int], Sequence[Union[str, Tuple[str, int]]]],
                 port: Optional[int] = None, *, ca: Union[str, os.PathLike],
                 cert: Optional[Union[str, os.PathLike]], key: Optional[Union[str, os.PathLike]],
                 timeout: Optional[float] = None, client_name: Optional[str] = None,
                 connect_timeout: float = 10.0, keepalive_interval: Optional[float] = 30.0,
                 keepalive_timeout: float = 20.0, server_hostname: Optional[str] = None,
                 metadata: Optional[Dict[str, str]] = None, backoff_initial: float = 0.2,
                 backoff_max: float = 10.0, failover_timeout: float = 30.0) -> None:
        """``keepalive_interval``: Ping a server after this many idle
        seconds (None: never) and drop the connection if no answer comes within
        ``keepalive_timeout``. ``server_hostname``: the name to verify in every
        server's certificate (default: each address's host). ``metadata``:
        key/value pairs sent with every call (logged by the server)."""
        self.timeout = timeout
        self.metadata = dict(metadata or {})
        self.failover_timeout = float(failover_timeout)
        addresses = self._check_servers(servers, port)
        ca, cert_s, key_s = os.fspath(ca), (os.fspath(cert) if cert is not None else None), \
            (os.fspath(key) if key is not None else None)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["adrn/1"])
        try:
            context.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as e:
            raise ClientConfigError(f"cannot load the CA file {ca}: {getattr(e, 'strerror', None) or e}") from e
        if (cert_s is None) != (key_s is None):
            raise ClientConfigError("give both cert= and key= (or neither)")
        if cert_s is not None:
            try:
                context.load_cert_chain(certfile=cert_s, keyfile=key_s)
            except (OSError, ssl.SSLError) as e:
                raise ClientConfigError(f"cannot load the client certificate {cert_s} with key {key_s}: "
                                        f"{getattr(e, 'strerror', None) or e}") from e
        name = client_name or f"adrnorm-client-python/{_version()}"

        def connect(host: str, port: int, on_event: Callable[[], None]) -> Connection:
            return Connection(host, port, context, server_hostname=server_hostname or host, client_name=name,
                              connect_timeout=connect_timeout, keepalive_interval=keepalive_interval,
                              keepalive_timeout=keepalive_timeout, ca=ca, cert=cert_s, on_event=on_event)

        self._pool = Pool(addresses, connect, connect_timeout=connect_timeout, backoff_initial=backoff_initial,
                          backoff_max=backoff_max, metadata=self.metadata)
        self._pool.start()

    @staticmethod
    def _check_servers(servers: Any, port: Optional[int] = None) -> List[Tuple[str, int]]:
        """The (host, port) of each address; ClientConfigError for a bad one."""
        if port is not None:
            if not isinstance(servers, str):
                raise ClientConfigError("port= goes with a single host name, not a list of servers")
            addresses = [parse_address((servers, port))]
        elif isinstance(servers, (str, tuple)):
            addresses = [parse_address(servers)]
        else:
            addresses = [parse_address(a) for a in servers]
        if not addresses:
            raise ClientConfigError("no server address given")
        return addresses

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes every connection; calls still running raise ``Unavailable``."""
        self._pool.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._pool.closed

    @property
    def connected(self) -> bool:
        """True while at least one server is ready to take calls."""
        return not self._pool.closed and self._pool.pick() is not None

    @property
    def draining(self) -> bool:
        """True while a server's connection is draining (GoAway) and no new
        connection to it is up yet: its calls in flight finish, new ones go
        to other servers."""
        return any(s.state == "draining" for s in self.servers)

    @property
    def servers(self) -> Tuple[ServerState, ...]:
        """Each server's address, state ("ready", "connecting", "draining",
        "down", "closed"), outstanding pairs, connections made and last error."""
        return tuple(s.snapshot() for s in self._pool.servers)

    def _any_conn(self) -> Connection:
        conn = self._pool.any_connection()
        if conn is None:
            raise self._pool.unavailable()
        return conn

    @property
    def server_name(self) -> str:
        """A ready server's name from its Hello."""
        conn = self._pool.any_connection()
        return conn.server_hello.server_name if conn is not None and conn.server_hello else ""

    @property
    def max_concurrent_streams(self) -> int:
        """Calls a ready server lets one connection run at once (more wait)."""
        return self._any_conn().max_concurrent_streams

    @property
    def initial_stream_credit(self) -> int:
        """Requests a stream may send before the server returns credit."""
        return self._any_conn().initial_stream_credit

    # -- helpers ----------------------------------------------------------------

    def _deadline(self, timeout: TimeoutArg) -> Optional[float]:
        t = self.timeout if isinstance(timeout, _Default) else timeout
        return None if t is None else time.monotonic() + float(t)

    def _unary(self, name: str, request: Any, response_type: Any, timeout: TimeoutArg, pairs: int = 0) -> Any:
        deadline = self._deadline(timeout)
        payload = request.SerializeToString()
        picked = self._pool.pick()
        if picked is None:
            raise self._pool.unavailable()
        server, conn = picked
        server.add(pairs)
        try:
            return response_type.FromString(unary_call(conn, name, payload, deadline, self.metadata))
        except Unavailable as first:
            if getattr(first, "answered", False):
                raise
            # Not answered, and every method is idempotent: once more, on
            # another connection (another server, or a new connection to it).
            again = self._pool.pick(exclude=conn)
            if again is None:
                raise
            log.info("%s failed on %s (%s); retrying on %s", name, server.address, first.message,
                     again[0].address)
        finally:
            server.add(-pairs)
        server, conn = again
        server.add(pairs)
        try:
            return response_type.FromString(unary_call(conn, name, payload, deadline, self.metadata))
        finally:
            server.add(-pairs)

    # -- unary methods -----------------------------------------------------------

    def retrieve(self, mention: str, *, top_k: int = 0, template: Template = Template.UNSPECIFIED,
                 mode: RetrievalMode = RetrievalMode.UNSPECIFIED, timeout: TimeoutArg = DEFAULT) -> RetrieveResult:
        """BM25 (or exact) top-``top_k`` candidates for ``mention`` (0: the
        server's default, 100), best first."""
        req = pb.RetrieveRequest(mention=mention, top_k=top_k, template=int(template), mode=int(mode))
        return RetrieveResult._from_proto(self._unary("Retrieve", req, pb.RetrieveResponse, timeout))

    def score(self, pairs: Iterable[Union[ScorePair, Tuple[str, str]]], *,
              template: Template = Template.UNSPECIFIED, timeout: TimeoutArg = DEFAULT) -> List[PairScore]:
        """Cross-encoder probabilities for (mention, candidate) pairs, one per
        pair in order. A tuple ``(mention, pt_code)`` is a :class:`ScorePair`
        with a PT code; use ``ScorePair(mention, candidate_text=...)`` for free text."""
        req = pb.ScoreRequest(template=int(template))
        for p in pairs:
            if isinstance(p, tuple):
                p = ScorePair(p[0], pt_code=p[1])
            req.pairs.append(p._to_proto())
        resp = self._unary("Score", req, pb.ScoreResponse, timeout, len(req.pairs))
        if len(resp.scores) != len(req.pairs):
            raise Internal(f"Score: {len(resp.scores)} scores for {len(req.pairs)} pairs")
        return [PairScore(s.logit_0, s.logit_1, s.prob_0, s.prob_1, s.candidate_text, resp.precision)
                for s in resp.scores]

    def normalize(self, mention: Union[str, NormalizeRequest], *, id: str = "", top_k: int = 0,
                  threshold: Optional[float] = None, template: Template = Template.UNSPECIFIED,
                  return_top_scored: int = 0, scorer: Scorer = Scorer.UNSPECIFIED,
                  timeout: TimeoutArg = DEFAULT) -> NormalizeResult:
        """The full pipeline for one mention: every PT with probability ≥
        ``threshold`` (None: the server's default, 0.3), best first. Pass a
        :class:`NormalizeRequest` instead of a string to give every field."""
        req = mention if isinstance(mention, NormalizeRequest) else NormalizeRequest(
            mention, id, top_k, threshold, template, return_top_scored, scorer)
        return NormalizeResult._from_proto(
            self._unary("Normalize", req._to_proto(), pb.NormalizeResponse, timeout, _pairs(req.top_k)))

    def info(self, *, timeout: TimeoutArg = DEFAULT) -> ServerInfo:
        """The server's model, dictionary, defaults and cache statistics."""
        return ServerInfo._from_proto(self._unary("Info", pb.InfoRequest(), pb.InfoResponse, timeout))

    def health(self, *, timeout: TimeoutArg = DEFAULT) -> HealthStatus:
        """``HealthStatus.SERVING`` when the server takes work."""
        resp = self._unary("Health", pb.HealthRequest(), pb.HealthResponse, timeout)
        try:
            return HealthStatus(resp.status)
        except ValueError:
            return HealthStatus.UNKNOWN

    def ping(self, *, timeout: TimeoutArg = DEFAULT) -> float:
        """A connection-level Ping to the least-loaded ready server; returns
        the round trip in seconds."""
        picked = self._pool.pick()
        if picked is None:
            raise self._pool.unavailable()
        return picked[1].ping(self._deadline(timeout))

    # -- streaming -----------------------------------------------------------------

    def normalize_stream(self, requests: Iterable[Union[str, NormalizeRequest]], *,
                         top_k: int = 0, threshold: Optional[float] = None,
                         template: Template = Template.UNSPECIFIED, return_top_scored: int = 0,
                         scorer: Scorer = Scorer.UNSPECIFIED, window: int = 2048,
                         timeout: TimeoutArg = DEFAULT) -> Iterator[NormalizeResult]:
        """Normalizes many mentions over one stream; a generator that yields
        one :class:`NormalizeResult` per request, in request order.

        ``requests`` may be any iterable (a file, a generator) of strings or
        :class:`NormalizeRequest`; strings get ``id`` = their 0-based index as
        text and the keyword arguments as their fields. A background thread
        pulls requests only as the server's credit allows and while fewer than
        ``window`` results are waiting to be taken, so neither the input nor
        the output is ever held whole. A bad item yields a result whose
        ``error`` is set (``ok`` is False) and the stream goes on: one the
        server refuses, and one whose request is larger than the server's
        frame limit (``INVALID_ARGUMENT``, never sent).

        The stream runs on the least-loaded ready server. When that server
        dies or drains (GoAway, or UNAVAILABLE), the items not yet answered
        are sent again, in order, on a stream to another ready server (or a
        new connection to the same one), waiting up to the client's
        ``failover_timeout`` for one: each item is answered exactly once, in
        input order, whatever the number of moves. A failure that cannot be
        moved raises :class:`~adrnorm_client.RPCError` from the generator
        (``Unavailable`` when no server became ready in time,
        ``DeadlineExceeded`` when ``timeout``, which covers the whole stream,
        passes). An exception raised by ``requests`` cancels the stream and is
        re-raised here. Nothing is sent until the first result is asked for;
        closing the generator early cancels the stream."""
        defaults = dict(top_k=top_k, threshold=threshold, template=template,
                        return_top_scored=return_top_scored, scorer=scorer)
        deadline = self._deadline(timeout)
        state = _StreamInput(iter(requests), defaults, max(1, window))
        pool = self._pool
        picked = pool.pick()
        if picked is None:
            raise pool.unavailable()
        # Moves without a single answer in between: a stream whose items make
        # every server fail must not go round for ever.
        stalled_moves = 0
        max_stalled = max(3, 2 * len(pool.servers))
        while True:
            server, conn = picked
            seg = _Segment(server, conn)
            try:
                seg.s = conn.open_stream(_SERVICE + "NormalizeStream", deadline, metadata=self.metadata)
            except Unavailable as e:
                failure: Optional[RPCError] = e
                answered = 0
            else:
                answered, failure = yield from self._run_segment(seg, state, deadline)
                if failure is None:
                    return
            if seg.sender is not None:
                # It may be adding to state.pending: let it finish first.
                left = remaining(deadline)
                seg.sender.join(None if left is None else max(0.0, left))
                if seg.sender.is_alive():
                    raise DeadlineExceeded(f"NormalizeStream did not finish within its timeout "
                                           f"({state.consumed} results)")
                seg.charge(-seg.charged)  # what it added after the segment ended
            stalled_moves = 0 if answered else stalled_moves + 1
            if stalled_moves > max_stalled:
                raise failure
            until = time.monotonic() + self.failover_timeout
            if deadline is not None:
                until = min(until, deadline)
            picked = pool.wait_pick(conn, until)
            if picked is None:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlineExceeded(f"NormalizeStream did not finish within its timeout "
                                           f"({state.consumed} results; its server failed: {failure.message})")
                raise Unavailable(f"NormalizeStream: {failure.message}; no other server became ready within "
                                  f"{self.failover_timeout:g}s ({pool.unavailable().message})")
            log.info("NormalizeStream: %s failed after %d results (%s); %d unanswered items move to %s",
                     server.address, state.consumed, failure.message, len(state.pending), picked[0].address)

    def _run_segment(self, seg: "_Segment", state: "_StreamInput", deadline: Optional[float]):
        """Runs the stream on ``seg`` (its stream already open): sends the
        unanswered items again, then new ones, and yields results in order.
        Returns (results yielded here, None) when the stream is done, or
        (results, the Unavailable) when it must move to another server."""
        s, conn, server = seg.s, seg.conn, seg.server
        pending = state.pending
        # The items a failed stream left unanswered go first, in order.
        resend = [e for e in pending if isinstance(e, _Item)]
        frames = [encode_frame(wire.Frame(stream_id=s.id, message=wire.Message(payload=e.payload)))
                  for e in resend]
        seg.charge(sum(e.pairs for e in resend))
        with s.lock:
            s.ready.extend(frames)
            s.half_close_queued = state.exhausted
        sender = seg.sender = _StreamSender(seg, state, deadline)
        answered = 0
        done = False
        try:
            sender.start()
            while True:
                with s.lock:
                    while (not s.messages and not s.finished and sender.error is None
                           and not (pending and not isinstance(pending[0], _Item)) and not conn.draining):
                        left = remaining(deadline)
                        if left is not None and left <= 0:
                            raise DeadlineExceeded(
                                f"NormalizeStream did not finish within its timeout ({state.consumed} results)")
                        s.cond.wait(left)
                    batch = list(s.messages)
                    s.messages.clear()
                    finished = s.finished
                # Items that failed here (never sent) come out in their place.
                while pending and not isinstance(pending[0], _Item):
                    state.consumed += 1
                    yield pending.popleft()
                if batch:
                    freed = 0
                    for payload in batch:
                        resp = pb.NormalizeResponse.FromString(payload)
                        while pending and not isinstance(pending[0], _Item):
                            state.consumed += 1
                            yield pending.popleft()
                        if not pending:
                            raise Internal(f"NormalizeStream: response {state.consumed} has no request "
                                           f"(id {resp.id!r})")
                        expected = pending.popleft()
                        if resp.id != expected.id:
                            raise Internal(f"NormalizeStream: response {state.consumed} has id {resp.id!r} "
                                           f"where {expected.id!r} was expected (out of order)")
                        freed += expected.pairs
                        state.consumed += 1
                        answered += 1
                        yield NormalizeResult._from_proto(resp)
                    seg.charge(-freed)
                    with s.lock:
                        s.cond.notify_all()  # the window moved: the sender may pull
                    continue
                with s.lock:
                    s.cond.notify_all()
                if pending and not isinstance(pending[0], _Item):
                    continue
                if sender.error is not None and not finished:
                    if isinstance(sender.error, Unavailable) and not sender.input_failed:
                        return answered, sender.error
                    raise sender.error
                if conn.draining and not finished:
                    # The server finishes what it has, but for how long? Its
                    # unanswered items go elsewhere now.
                    return answered, Unavailable(f"{server.address} is draining (GoAway)")
                if finished:
                    break
            if s.error is not None:
                if isinstance(s.error, Unavailable):
                    return answered, fresh(s.error)
                raise fresh(s.error)
            if sender.error is not None:
                if isinstance(sender.error, Unavailable) and not sender.input_failed:
                    return answered, sender.error
                raise sender.error
            code, message = s.status  # type: ignore[misc]
            if code == StatusCode.UNAVAILABLE:
                return answered, Unavailable(f"{server.address}: {message}")
            if code != StatusCode.OK:
                raise error_for_status(code, message)
            if pending or not state.exhausted:
                raise DataLoss(f"NormalizeStream: the server ended the stream after {state.consumed} results "
                               f"with {len(pending)} requests unanswered")
            done = True
            return answered, None
        finally:
            sender.stop()
            if not done:
                conn.cancel(s, "the client stopped reading the stream, or moved it to another server")
            seg.charge(-seg.charged)


class _Item:
    """A request sent (or to send) to the server, kept until it is answered."""

    __slots__ = ("id", "payload", "pairs")

    def __init__(self, id: str, payload: bytes, pairs: int) -> None:
        self.id, self.payload, self.pairs = id, payload, pairs


class _StreamInput:
    """What a NormalizeStream carries from one server to the next: the input
    iterator and, in order, every item pulled but not yet yielded (an
    :class:`_Item`, or the result of an item refused here)."""

    def __init__(self, it: Iterator[Any], defaults: Dict[str, Any], window: int) -> None:
        from collections import deque
        self.it, self.defaults, self.window = it, defaults, window
        self.pending: "deque[Union[_Item, NormalizeResult]]" = deque()
        self.pulled = 0
        self.consumed = 0
        self.exhausted = False


class _Segment:
    """The part of a NormalizeStream run on one connection."""

    def __init__(self, server: Any, conn: Connection) -> None:
        self.server, self.conn = server, conn
        self.s: Stream = None  # type: ignore[assignment]
        self.sender: Optional["_StreamSender"] = None
        self.charged = 0
        self._lock = threading.Lock()

    def charge(self, pairs: int) -> None:
        """Counts ``pairs`` (negative: answered) against the server's load."""
        if pairs:
            with self._lock:
                self.charged += pairs
            self.server.add(pairs)


class _StreamSender(threading.Thread):
    """Feeds one segment of a NormalizeStream: pulls requests while fewer
    than ``window`` results are outstanding, keeps them in ``state.pending``,
    encodes them into ``Stream.ready``, and pumps them out as credit allows
    (the reader thread also pumps on Credit)."""

    _BATCH = 256

    def __init__(self, seg: _Segment, state: _StreamInput, deadline: Optional[float]) -> None:
        super().__init__(name=f"adrnorm-stream-{seg.s.id}", daemon=True)
        self.seg, self.conn, self.s, self.state = seg, seg.conn, seg.s, state
        self.deadline = deadline
        self.error: Optional[BaseException] = None
        self.input_failed = False  # the error came from the input, not the connection
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True
        with self.s.lock:
            self.s.cond.notify_all()

    def _request(self, item: Any, index: int) -> pb.NormalizeRequest:
        if isinstance(item, str):
            item = NormalizeRequest(item, str(index), **self.state.defaults)
        elif not isinstance(item, NormalizeRequest):
            raise TypeError(f"normalize_stream: item {index} is a {type(item).__name__}, "
                            f"not a str or NormalizeRequest")
        return item._to_proto()

    def _action(self) -> Optional[str]:
        """What to do next ("stop", "pump", "pull") or None to wait; under s.cond."""
        s, st = self.s, self.state
        if s.finished or self._stopped or self.conn.draining:
            return "stop"
        if not s.pumping and ((s.ready and s.credit > 0)
                              or (s.half_close_queued and not s.ready and not s.half_close_sent)):
            return "pump"
        if not st.exhausted and st.pulled - st.consumed < st.window:
            return "pull"
        if s.half_close_sent:
            return "stop"
        return None

    def run(self) -> None:
        s, conn, st = self.s, self.conn, self.state
        try:
            while True:
                with s.lock:
                    action = self._action()
                    while action is None:
                        left = remaining(self.deadline)
                        if left is not None and left <= 0:
                            return  # the consumer raises DeadlineExceeded
                        s.cond.wait(left)
                        action = self._action()
                    room = st.window - (st.pulled - st.consumed)
                if action == "stop":
                    return
                if action == "pump":
                    conn.pump(s, self.deadline)
                    continue
                frames = []
                refused = False
                pairs = 0
                try:
                    for _ in range(min(room, self._BATCH)):
                        try:
                            item = next(st.it)
                        except StopIteration:
                            st.exhausted = True
                            break
                        req = self._request(item, st.pulled)
                        payload = req.SerializeToString()
                        try:
                            conn.check_size(len(payload), f"request {st.pulled} (id {req.id!r})")
                        except InvalidArgument as e:
                            # One oversized mention fails alone, as the server
                            # fails a bad item, instead of ending the stream.
                            st.pending.append(NormalizeResult(req.id, error=ItemError(
                                StatusCode.INVALID_ARGUMENT, f"not sent: {e.message}")))
                            st.pulled += 1
                            refused = True
                            continue
                        cost = _pairs(req.top_k)
                        st.pending.append(_Item(req.id, payload, cost))
                        st.pulled += 1
                        pairs += cost
                        frames.append(encode_frame(wire.Frame(stream_id=s.id,
                                                              message=wire.Message(payload=payload))))
                except BaseException:
                    self.input_failed = True
                    raise
                self.seg.charge(pairs)
                with s.lock:
                    s.ready.extend(frames)
                    s.half_close_queued = st.exhausted
                    if refused:
                        s.cond.notify_all()
                if self._stopped:
                    return
                conn.pump(s, self.deadline)
        except BaseException as e:
            self.error = e
            if self.input_failed:
                conn.cancel(s, f"the request iterator failed: {type(e).__name__}")
            with s.lock:
                s.cond.notify_all()
