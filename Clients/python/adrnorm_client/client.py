"""The adrnorm client: one mutually authenticated TLS connection, many calls."""

from __future__ import annotations

import os
import ssl
import threading
import time
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ._connection import Connection, Stream, fresh, remaining
from ._proto.adrnorm.v1 import normalizer_pb2 as pb
from ._proto.adrnorm.wire.v1 import frame_pb2 as wire
from ._wire import encode_frame
from .errors import (ClientConfigError, DataLoss, DeadlineExceeded, Internal, InvalidArgument, StatusCode,
                     error_for_status)
from .types import (HealthStatus, ItemError, NormalizeRequest, NormalizeResult, PairScore, RetrievalMode,
                    RetrieveResult, Scorer, ScorePair, ServerInfo, Template)

__all__ = ["Client"]

_SERVICE = "/adrnorm.v1.Normalizer/"


class _Default:
    def __repr__(self) -> str:
        return "<client default>"


#: Use the client's default timeout (the ``timeout`` given to :class:`Client`).
DEFAULT = _Default()
TimeoutArg = Union[None, float, _Default]


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("adrnorm-client")
    except Exception:
        return "dev"


class Client:
    """A connection to an adrnorm server, shared safely by any number of threads.

    ``ca`` is the CA file that signed the server's certificate; ``cert`` and
    ``key`` are this client's certificate and private key (PEM files; the
    server requires them). ``timeout`` (seconds, None = none) is the default
    for every call; each method takes its own ``timeout=`` too. The
    connection is made (TLS 1.2+, ALPN ``adrn/1``, protocol Hello) in the
    constructor, which raises :class:`~adrnorm_client.HandshakeError` when
    either side refuses the other's certificate, or :class:`ConnectionError`.

    Calls raise :class:`~adrnorm_client.RPCError` subclasses. After the
    server's GoAway, or once the connection fails, calls raise
    :class:`~adrnorm_client.Unavailable`: make a new ``Client``.

    Use it as a context manager, or call :meth:`close`::

        with Client("localhost", 7443, ca="Certs/out/ca.pem",
                    cert="Certs/out/client-a.pem", key="Certs/out/client-a.key") as c:
            print(c.normalize("吃完药后一直犯困头晕").pt_codes)
    """

    def __init__(self, host: str, port: int, *, ca: Union[str, os.PathLike], cert: Optional[Union[str, os.PathLike]],
                 key: Optional[Union[str, os.PathLike]], timeout: Optional[float] = None,
                 client_name: Optional[str] = None, connect_timeout: float = 10.0,
                 keepalive_interval: Optional[float] = 30.0, keepalive_timeout: float = 20.0,
                 server_hostname: Optional[str] = None, metadata: Optional[Dict[str, str]] = None) -> None:
        """``keepalive_interval``: Ping the server after this many idle
        seconds (None: never) and drop the connection if no answer comes within
        ``keepalive_timeout``. ``server_hostname``: the name to verify in the
        server certificate (default ``host``). ``metadata``: key/value pairs
        sent with every call (logged by the server)."""
        self.timeout = timeout
        self.metadata = dict(metadata or {})
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
        self._conn = Connection(
            host, int(port), context, server_hostname=server_hostname or host,
            client_name=client_name or f"adrnorm-client-python/{_version()}",
            connect_timeout=connect_timeout, keepalive_interval=keepalive_interval,
            keepalive_timeout=keepalive_timeout, ca=ca, cert=cert_s)

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; calls still running raise ``Unavailable``."""
        self._conn.close()

    @property
    def closed(self) -> bool:
        """True once the connection failed or was closed."""
        return self._conn.closed

    @property
    def draining(self) -> bool:
        """True after the server's GoAway: in-flight calls finish, new ones fail."""
        return self._conn.draining

    @property
    def server_name(self) -> str:
        """The server's name from its Hello."""
        return self._conn.server_hello.server_name if self._conn.server_hello else ""

    @property
    def max_concurrent_streams(self) -> int:
        """Calls the server lets this connection run at once (more wait)."""
        return self._conn.max_concurrent_streams

    @property
    def initial_stream_credit(self) -> int:
        """Requests a stream may send before the server returns credit."""
        return self._conn.initial_stream_credit

    # -- helpers ----------------------------------------------------------------

    def _deadline(self, timeout: TimeoutArg) -> Optional[float]:
        t = self.timeout if isinstance(timeout, _Default) else timeout
        return None if t is None else time.monotonic() + float(t)

    def _unary(self, name: str, request: Any, response_type: Any, timeout: TimeoutArg) -> Any:
        method = _SERVICE + name
        deadline = self._deadline(timeout)
        conn = self._conn
        s = conn.open_stream(method, deadline, payload=request.SerializeToString(), half_close=True,
                             metadata=self.metadata)
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
            raise fresh(s.error)
        code, message = s.status  # type: ignore[misc]
        if code != StatusCode.OK:
            raise error_for_status(code, message)
        if len(s.messages) != 1:
            raise Internal(f"{name}: the server sent {len(s.messages)} responses to a unary call")
        return response_type.FromString(s.messages[0])

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
        resp = self._unary("Score", req, pb.ScoreResponse, timeout)
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
            self._unary("Normalize", req._to_proto(), pb.NormalizeResponse, timeout))

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
        """A connection-level Ping; returns the round trip in seconds."""
        return self._conn.ping(self._deadline(timeout))

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
        frame limit (``INVALID_ARGUMENT``, never sent); a failure of
        the stream raises :class:`~adrnorm_client.RPCError` from the generator
        (``Unavailable`` if the server goes away, ``DeadlineExceeded`` when
        ``timeout``, which covers the whole stream, passes). An exception
        raised by ``requests`` cancels the stream and is re-raised here.
        Nothing is sent until the first result is asked for; closing the
        generator early cancels the stream."""
        defaults = dict(top_k=top_k, threshold=threshold, template=template,
                        return_top_scored=return_top_scored, scorer=scorer)
        deadline = self._deadline(timeout)
        conn = self._conn
        s = conn.open_stream(_SERVICE + "NormalizeStream", deadline, metadata=self.metadata)
        sender = _StreamSender(conn, s, iter(requests), defaults, max(1, window), deadline)
        done = False
        try:
            sender.start()
            yielded = 0
            ids = sender.ids
            while True:
                with s.lock:
                    while (not s.messages and not s.finished and sender.error is None
                           and not (ids and not isinstance(ids[0], str))):
                        left = remaining(deadline)
                        if left is not None and left <= 0:
                            raise DeadlineExceeded(
                                f"NormalizeStream did not finish within its timeout ({yielded} results)")
                        s.cond.wait(left)
                    batch = list(s.messages)
                    s.messages.clear()
                # Items that failed here (never sent) come out in their place.
                while ids and not isinstance(ids[0], str):
                    yielded += 1
                    yield ids.popleft()
                if not batch:
                    with s.lock:
                        s.consumed = yielded
                        s.cond.notify_all()
                        if ids and not isinstance(ids[0], str):
                            continue
                        if not s.messages and sender.error is not None and not s.finished:
                            raise sender.error
                        if not s.messages and s.finished:
                            break
                    continue
                for payload in batch:
                    resp = pb.NormalizeResponse.FromString(payload)
                    while ids and not isinstance(ids[0], str):
                        yielded += 1
                        yield ids.popleft()
                    if not sender.ids:
                        raise Internal(f"NormalizeStream: response {yielded} has no request "
                                       f"(id {resp.id!r})")
                    expected = sender.ids.popleft()
                    if resp.id != expected:
                        raise Internal(f"NormalizeStream: response {yielded} has id {resp.id!r} where "
                                       f"{expected!r} was expected (out of order)")
                    yielded += 1
                    yield NormalizeResult._from_proto(resp)
                with s.lock:
                    s.consumed = yielded
                    s.cond.notify_all()
            if s.error is not None:
                raise fresh(s.error)
            if sender.error is not None:
                raise sender.error
            code, message = s.status  # type: ignore[misc]
            if code != StatusCode.OK:
                raise error_for_status(code, message)
            if sender.ids or not sender.exhausted:
                raise DataLoss(f"NormalizeStream: the server ended the stream after {yielded} results "
                               f"with {len(sender.ids)} requests unanswered")
            done = True
        finally:
            if not done:
                sender.stop()
                conn.cancel(s, "the client stopped reading the stream")


class _StreamSender(threading.Thread):
    """Feeds a NormalizeStream: pulls requests while fewer than ``window``
    results are outstanding, encodes them into ``Stream.ready``, and pumps
    them out as credit allows (the reader thread also pumps on Credit)."""

    _BATCH = 256

    def __init__(self, conn: Connection, s: Stream, it: Iterator[Any], defaults: Dict[str, Any],
                 window: int, deadline: Optional[float]) -> None:
        super().__init__(name=f"adrnorm-stream-{s.id}", daemon=True)
        from collections import deque
        self.conn, self.s, self.it, self.defaults = conn, s, it, defaults
        self.window, self.deadline = window, deadline
        # The id each response must carry, in order; an item refused here
        # (never sent) is its result instead, yielded in its place.
        self.ids: "deque[Union[str, NormalizeResult]]" = deque()
        self.error: Optional[BaseException] = None
        self.exhausted = False
        self.pulled = 0
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True
        with self.s.lock:
            self.s.cond.notify_all()

    def _request(self, item: Any, index: int) -> pb.NormalizeRequest:
        if isinstance(item, str):
            item = NormalizeRequest(item, str(index), **self.defaults)
        elif not isinstance(item, NormalizeRequest):
            raise TypeError(f"normalize_stream: item {index} is a {type(item).__name__}, "
                            f"not a str or NormalizeRequest")
        return item._to_proto()

    def _action(self) -> Optional[str]:
        """What to do next ("stop", "pump", "pull") or None to wait; under s.cond."""
        s = self.s
        if s.finished or self._stopped:
            return "stop"
        if not s.pumping and ((s.ready and s.credit > 0)
                              or (s.half_close_queued and not s.ready and not s.half_close_sent)):
            return "pump"
        if not self.exhausted and self.pulled - s.consumed < self.window:
            return "pull"
        if s.half_close_sent:
            return "stop"
        return None

    def run(self) -> None:
        s, conn = self.s, self.conn
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
                    room = self.window - (self.pulled - s.consumed)
                if action == "stop":
                    return
                if action == "pump":
                    conn.pump(s, self.deadline)
                    continue
                frames = []
                refused = False
                for _ in range(min(room, self._BATCH)):
                    try:
                        item = next(self.it)
                    except StopIteration:
                        self.exhausted = True
                        break
                    req = self._request(item, self.pulled)
                    payload = req.SerializeToString()
                    try:
                        conn.check_size(len(payload), f"request {self.pulled} (id {req.id!r})")
                    except InvalidArgument as e:
                        # One oversized mention fails alone, as the server
                        # fails a bad item, instead of ending the stream.
                        self.ids.append(NormalizeResult(req.id, error=ItemError(
                            StatusCode.INVALID_ARGUMENT, f"not sent: {e.message}")))
                        self.pulled += 1
                        refused = True
                        continue
                    self.ids.append(req.id)
                    self.pulled += 1
                    frames.append(encode_frame(wire.Frame(stream_id=s.id,
                                                          message=wire.Message(payload=payload))))
                with s.lock:
                    s.ready.extend(frames)
                    s.half_close_queued = self.exhausted
                    if refused:
                        s.cond.notify_all()
                conn.pump(s, self.deadline)
        except BaseException as e:
            self.error = e
            conn.cancel(s, f"the request iterator failed: {type(e).__name__}")
            with s.lock:
                s.cond.notify_all()
