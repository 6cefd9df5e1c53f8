"""One multiplexed protocol connection (docs/PROTOCOL.md): Hello, streams, credits,
Ping/Pong, GoAway.

Threads: a reader thread owns the socket's read side, decodes frames and
hands each to its stream (by id); a keepalive thread answers the server's
Pings and pings an idle server; callers' threads open streams, send frames and
wait on their stream's condition. Every wait is bounded by the caller's
deadline or ends when the connection fails (which wakes every waiter): a
write too, also one the server does not read (what it left unsent goes out
first with the next write; the keepalive thread flushes it meanwhile).
"""

from __future__ import annotations

import itertools
import math
import socket
import ssl
import threading
import time
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Tuple

from ._proto.adrnorm.wire.v1 import frame_pb2 as wire
from ._tls import BUSY, CLOSED_TCP, CLOSED_TLS, QUEUED, ChannelClosed, TLSChannel
from ._wire import DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FramingError, encode_frame
from .errors import (DeadlineExceeded, HandshakeError, InvalidArgument, RPCError, StatusCode,
                     Unavailable)

PROTOCOL_VERSION = 1
ALPN = "adrn/1"
# Responses can be larger than requests (top_scored lists); the server's
# max_frame_bytes bounds what it accepts, not what it sends.
_MAX_INCOMING_FRAME = 64 * 1024 * 1024


def remaining(deadline: Optional[float]) -> Optional[float]:
    """Seconds left before ``deadline`` (None: no deadline)."""
    return None if deadline is None else deadline - time.monotonic()


def timeout_ms(deadline: Optional[float]) -> int:
    if deadline is None:
        return 0
    return max(1, min(2**32 - 1, math.ceil((deadline - time.monotonic()) * 1000)))


class Stream:
    """Client-side state of one stream. Fields change under ``cond``; the
    reader fills ``messages``/``credit``/``status``, a failure sets ``error``."""

    __slots__ = ("id", "method", "lock", "cond", "messages", "credit", "status", "error", "finished",
                 "consumed", "ready", "half_close_queued", "half_close_sent", "pumping")

    def __init__(self, method: str) -> None:
        self.id = 0
        self.method = method
        # `with lock:` guards the fields (a C-level lock: cheaper than entering
        # the Condition, which wraps the same lock); `cond` waits and notifies.
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.messages: Deque[bytes] = deque()
        self.credit = 0
        self.status: Optional[Tuple[int, str]] = None
        self.error: Optional[RPCError] = None
        self.finished = False
        self.consumed = 0  # responses the caller has taken (stream window)
        # Encoded Message frames waiting for credit, sent in order by one
        # pumper at a time (see Connection.pump).
        self.ready: Deque[bytes] = deque()
        self.half_close_queued = False
        self.half_close_sent = False
        self.pumping = False


def _half_close(stream_id: int) -> bytes:
    return encode_frame(wire.Frame(stream_id=stream_id, half_close=wire.HalfClose()))


class SendTimedOut(DeadlineExceeded):
    """A send that ran out of time. ``committed``: part of it went out (the
    rest follows with the next write), so the server will see it whole."""

    def __init__(self, message: str, code: Optional[StatusCode] = None, *, committed: bool = False) -> None:
        super().__init__(message, code)
        self.committed = committed


def fresh(err: RPCError) -> RPCError:
    """A new exception like ``err`` (one object must not be raised in two threads)."""
    return type(err)(err.message, err.code)


def describe_ssl_error(e: ssl.SSLError, *, ca: str, cert: Optional[str], phase: str) -> HandshakeError:
    """Turns OpenSSL's error into a message that says who refused what."""
    reason = getattr(e, "reason", None) or ""
    text = getattr(e, "verify_message", None) or str(e)
    ours = f"our client certificate {cert}" if cert else "the connection without a client certificate"
    if reason == "CERTIFICATE_VERIFY_FAILED":
        msg = (f"{phase}: the server's certificate failed verification against the CA file {ca}: "
               f"{text}")
    elif reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED":
        msg = (f"{phase}: the server requires a client certificate and none was sent "
               f"(pass cert= and key=; TLS alert: certificate required)")
    elif "ALERT" in reason:
        alert = reason.split("ALERT_", 1)[-1].replace("_", " ").lower()
        msg = f"{phase}: the server refused {ours} (TLS alert: {alert})"
    elif reason == "NO_APPLICATION_PROTOCOL" or "APPLICATION_PROTOCOL" in reason:
        msg = f"{phase}: the server does not speak ALPN {ALPN!r}: {text}"
    else:
        msg = f"{phase}: {text}"
    return HandshakeError(msg, reason or None)


class Connection:
    """A connected, Hello'd protocol connection. Thread-safe."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, *, server_hostname: str,
                 client_name: str, connect_timeout: float, keepalive_interval: Optional[float],
                 keepalive_timeout: float, ca: str, cert: Optional[str],
                 on_event: Optional[Callable[[], None]] = None) -> None:
        """``on_event`` is called (from the reader or keepalive thread, no
        lock held) when the connection fails or the server sends GoAway."""
        self.address = f"{host}:{port}"
        self._on_event = on_event
        self._ca, self._cert = ca, cert
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # slots, stream table, closed state
        self._open_lock = threading.Lock()  # Call frames go out in stream-id order
        self._streams: Dict[int, Stream] = {}
        self._next_id = 1
        self._active = 0
        self._error: Optional[RPCError] = None
        self._goaway: Optional[Tuple[int, int, str]] = None
        self._hello_event = threading.Event()
        self.server_hello: Optional[wire.Hello] = None
        self.max_frame_bytes = DEFAULT_MAX_FRAME_BYTES
        self.max_concurrent_streams = 100
        self.initial_stream_credit = 1
        self._keepalive_interval = keepalive_interval
        self._keepalive_timeout = keepalive_timeout
        self._last_recv = time.monotonic()
        self._ping_sent: Optional[float] = None
        self._ping_seq = itertools.count(1)
        self._pong_waiters: Dict[bytes, threading.Event] = {}
        self._control: Deque[bytes] = deque()
        self._ka_event = threading.Event()
        self._handshake_error: Optional[BaseException] = None

        deadline = time.monotonic() + connect_timeout
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as e:
            raise ConnectionError(f"cannot connect to {self.address}: {e.strerror or e}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._channel = TLSChannel(sock, context, server_side=False, server_hostname=server_hostname)
        phase = f"TLS handshake with {self.address} failed"
        try:
            self._channel.handshake(deadline)
        except ssl.SSLError as e:
            self._channel.close()
            raise describe_ssl_error(e, ca=ca, cert=cert, phase=phase) from e
        except ChannelClosed as e:
            self._channel.close()
            raise HandshakeError(f"{phase}: {e} (a server that refuses the client certificate "
                                 f"{cert} may close without saying why)") from None
        except OSError as e:
            self._channel.close()
            raise ConnectionError(f"{phase}: {e}") from e
        if self._channel.alpn_protocol != ALPN:
            self._channel.close()
            raise HandshakeError(f"{phase}: the server did not agree to ALPN {ALPN!r} "
                                 f"(it chose {self._channel.alpn_protocol!r})")

        hello = wire.Frame(stream_id=0, hello=wire.Hello(protocol_version=PROTOCOL_VERSION,
                                                         client_name=client_name))
        self._decoder = FrameDecoder(_MAX_INCOMING_FRAME)
        self._reader = threading.Thread(target=self._read_loop, name=f"adrnorm-reader-{self.address}",
                                        daemon=True)
        self._reader.start()
        try:
            self._channel.send(encode_frame(hello))
        except OSError:
            pass  # the reader reports why the connection broke
        if not self._hello_event.wait(max(0.0, deadline - time.monotonic())):
            self._fail(Unavailable(f"no Hello from {self.address} within {connect_timeout}s"))
            raise ConnectionError(f"{self.address} did not answer the protocol Hello within "
                                  f"{connect_timeout}s (is it an adrnorm server?)")
        if self.server_hello is None:
            err = self._handshake_error
            if isinstance(err, HandshakeError):
                raise err
            raise ConnectionError(f"connection to {self.address} failed before the server's Hello: "
                                  f"{self._error.message if self._error else err}")
        if self.server_hello.protocol_version != PROTOCOL_VERSION:
            self.close()
            raise ConnectionError(f"{self.address} speaks protocol version "
                                  f"{self.server_hello.protocol_version}, this client {PROTOCOL_VERSION}")
        self._keepalive = threading.Thread(target=self._keepalive_loop,
                                           name=f"adrnorm-keepalive-{self.address}", daemon=True)
        self._keepalive.start()

    # -- state ---------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._error is not None

    @property
    def draining(self) -> bool:
        """The server sent GoAway: no new calls on this connection."""
        return self._goaway is not None

    def _unusable(self) -> Optional[RPCError]:
        if self._error is not None:
            return fresh(self._error)
        if self._goaway is not None:
            last, code, msg = self._goaway
            return Unavailable(f"{self.address} is shutting down (GoAway: {msg or StatusCode.of(code).name});"
                               f" new calls go to a new connection")
        return None

    # -- streams ---------------------------------------------------------------

    def open_stream(self, method: str, deadline: Optional[float], *, payload: Optional[bytes] = None,
                    half_close: bool = False, metadata: Optional[Dict[str, str]] = None) -> Stream:
        """Reserves a stream slot (waiting for one until ``deadline``), then
        sends the Call. Raises Unavailable / DeadlineExceeded / InvalidArgument."""
        if payload is not None:
            self.check_size(len(payload), "request")
        s = Stream(method)
        with self._cond:
            while True:
                err = self._unusable()
                if err is not None:
                    raise err
                if self._active < self.max_concurrent_streams:
                    break
                left = remaining(deadline)
                if left is not None and left <= 0:
                    raise DeadlineExceeded(f"{method}: no free stream within the timeout "
                                           f"({self.max_concurrent_streams} calls already open)")
                self._cond.wait(left)
            self._active += 1
        left = remaining(deadline)
        if not self._open_lock.acquire(timeout=-1 if left is None else max(0.0, left)):
            self._release(s)
            raise DeadlineExceeded(f"{method}: could not send the call within the timeout")
        try:
            with self._cond:
                err = self._unusable()
                if err is not None:
                    self._active -= 1
                    self._cond.notify_all()
                    raise err
                s.id = self._next_id
                self._next_id += 1
                self._streams[s.id] = s
                s.credit = self.initial_stream_credit - (1 if payload is not None else 0)
            call = wire.Call(method=method, timeout_ms=timeout_ms(deadline), half_close=half_close)
            if payload is not None:
                call.payload = payload
            if metadata:
                call.metadata.update(metadata)
            try:
                self.send(encode_frame(wire.Frame(stream_id=s.id, call=call)), deadline, what=method)
            except SendTimedOut as e:
                if e.committed:
                    # The Call reaches the server after all: cancel it there
                    # (the Cancel follows it), keeping its slot until the
                    # server's Status frees it.
                    self.cancel(s, "deadline exceeded while sending the call")
                else:
                    self._release(s)  # the Call never went out: the server knows nothing of it
                raise
            except BaseException:
                self._release(s)  # the Call never went out: the server knows nothing of it
                raise
        finally:
            self._open_lock.release()
        return s

    def check_size(self, n: int, what: str) -> None:
        # A Frame around a payload adds a few bytes of tags and lengths.
        if n + 32 > self.max_frame_bytes:
            raise InvalidArgument(f"{what} is {n} bytes, over the server's frame limit "
                                  f"(max_frame_bytes {self.max_frame_bytes})")

    def send(self, data: bytes, deadline: Optional[float], *, what: str) -> None:
        """Sends encoded frames; raises SendTimedOut (a DeadlineExceeded) if
        the send side stays busy, or the server does not take the bytes,
        past ``deadline``; Unavailable if the connection failed."""
        left = remaining(deadline)
        try:
            outcome = self._channel.send(data, None if left is None else max(0.0, left))
        except OSError as e:
            self._fail(Unavailable(f"connection to {self.address} failed while sending: {e}"))
            raise fresh(self._error or Unavailable(str(e))) from None
        if outcome == BUSY:
            raise SendTimedOut(f"{what}: could not send within the timeout (the connection is busy sending: "
                               f"is the server reading?)", committed=False)
        if outcome == QUEUED:
            self._ka_event.set()  # the keepalive thread flushes the rest meanwhile
            raise SendTimedOut(f"{what}: the server did not take the request within the timeout "
                               f"(it is not reading); the rest is sent when it reads again", committed=True)

    def pump(self, s: Stream, deadline: Optional[float], *, nonblocking: bool = False) -> bool:
        """Sends ``s.ready`` as far as credit allows (then the HalfClose once
        ``ready`` is empty). One pumper per stream at a time keeps frames in
        order; a call that finds another pumping returns at once. With
        ``nonblocking`` (the reader thread, on Credit) nothing waits: if the
        send side is busy the frames go back and it returns False."""
        with s.lock:
            if s.pumping:
                return True
            s.pumping = True
        try:
            while True:
                with s.lock:
                    n = min(s.credit, len(s.ready))
                    batch = [s.ready.popleft() for _ in range(n)]
                    s.credit -= n
                    close = s.half_close_queued and not s.ready and not s.half_close_sent
                    if not batch and not close:
                        s.pumping = False  # decided under the lock: no lost wake-up
                        return True
                    s.half_close_sent = s.half_close_sent or close
                frames = batch + [_half_close(s.id)] if close else batch
                data = b"".join(frames)
                if nonblocking:
                    outcome = self._channel.send(data, 0) if len(data) <= 65536 else BUSY
                    if outcome == QUEUED:
                        self._ka_event.set()  # committed; the keepalive thread flushes the rest
                    if outcome == BUSY:
                        with s.lock:
                            s.ready.extendleft(reversed(batch))
                            s.credit += n
                            if close:
                                s.half_close_sent = False
                            s.pumping = False
                            s.cond.notify_all()
                        return False
                else:
                    self.send(data, deadline, what=s.method)
        except BaseException:
            with s.lock:
                s.pumping = False
                s.cond.notify_all()
            raise

    def cancel(self, s: Stream, reason: str) -> None:
        """Abandons ``s`` (best effort; the server answers CANCELLED). Never
        waits for a busy send side (a write ahead may be blocked on a server
        that does not read): the keepalive thread sends it once it is free."""
        with s.lock:
            if s.finished:
                return
        if self._error is not None:
            return
        data = encode_frame(wire.Frame(stream_id=s.id, cancel=wire.Cancel(reason=reason)))
        try:
            outcome = self._channel.send(data, 0)
        except OSError:
            return  # the reader reports the broken connection
        if outcome != BUSY:
            if outcome == QUEUED:
                self._ka_event.set()
            return
        self._control.append(data)
        self._ka_event.set()

    def _release(self, s: Stream) -> None:
        with self._cond:
            if s.id and self._streams.pop(s.id, None) is None:
                return
            self._active -= 1
            self._cond.notify_all()
            close_now = self._goaway is not None and self._active == 0
        if close_now:
            # The server closes after its last stream; do not wait for it.
            self._fail(Unavailable(f"{self.address} closed the connection after GoAway"))

    # -- reader ---------------------------------------------------------------

    def _read_loop(self) -> None:
        reason: RPCError
        try:
            while True:
                data = self._channel.recv()
                self._last_recv = time.monotonic()
                if not data:
                    continue
                touched: List[Stream] = []
                credited: List[Stream] = []
                for frame in self._decoder.feed(data):
                    self._dispatch(frame, touched, credited)
                for s in touched:
                    with s.lock:
                        s.cond.notify_all()
                # Send waiting requests right here: a hop to the stream's
                # sender thread costs a GIL hand-off per credit round trip.
                for s in credited:
                    try:
                        self.pump(s, None, nonblocking=True)
                    except (OSError, RPCError):
                        pass  # the next recv reports the broken connection
        except ChannelClosed as e:
            why = ""
            if self._goaway is not None:
                why = f" after GoAway ({self._goaway[2] or StatusCode.of(self._goaway[1]).name})"
            how = {CLOSED_TLS: "TLS close_notify", CLOSED_TCP: "TCP EOF without a TLS close_notify"}.get(str(e), str(e))
            reason = Unavailable(f"the server {self.address} closed the connection{why} ({how})")
        except ssl.SSLError as e:
            if self.server_hello is None:
                self._handshake_error = describe_ssl_error(
                    e, ca=self._ca, cert=self._cert,
                    phase=f"TLS handshake with {self.address} failed")
                reason = Unavailable(str(self._handshake_error))
            else:
                reason = Unavailable(f"TLS error on the connection to {self.address}: {e}")
        except FramingError as e:
            reason = Unavailable(f"{self.address} broke the protocol: {e}")
        except OSError as e:
            reason = Unavailable(f"connection to {self.address} failed: {e}")
        except BaseException as e:  # a bug: never leave callers waiting
            reason = Unavailable(f"client reader failed: {e!r} (this is a bug)")
        self._fail(reason)
        self._hello_event.set()
        self._channel.close()

    def _dispatch(self, frame: wire.Frame, touched: List[Stream], credited: List[Stream]) -> None:
        kind = frame.WhichOneof("kind")
        sid = frame.stream_id
        if sid == 0:
            if kind == "hello" and self.server_hello is None:
                h = frame.hello
                if h.max_frame_bytes:
                    self.max_frame_bytes = h.max_frame_bytes
                if h.max_concurrent_streams:
                    self.max_concurrent_streams = h.max_concurrent_streams
                self.initial_stream_credit = h.initial_stream_credit
                self.server_hello = h
                self._hello_event.set()
            elif kind == "ping":
                self._control.append(encode_frame(wire.Frame(pong=wire.Pong(payload=frame.ping.payload))))
                self._ka_event.set()
            elif kind == "pong":
                self._ping_sent = None
                ev = self._pong_waiters.pop(frame.pong.payload, None)
                if ev is not None:
                    ev.set()
            elif kind == "goaway":
                self._on_goaway(frame.goaway, touched)
            return
        s = self._streams.get(sid)
        if s is None:
            return  # late frames of a stream already failed locally
        if kind == "message":
            with s.lock:
                s.messages.append(frame.message.payload)
        elif kind == "credit":
            with s.lock:
                s.credit += frame.credit.messages
                if s.ready or (s.half_close_queued and not s.half_close_sent):
                    credited.append(s)
        elif kind == "status":
            with s.lock:
                s.status = (frame.status.code, frame.status.message)
                s.finished = True
            self._release(s)
        else:
            return
        touched.append(s)

    def _on_goaway(self, g: wire.GoAway, touched: List[Stream]) -> None:
        with self._cond:
            self._goaway = (g.last_stream_id, g.code, g.message)
            doomed = [s for sid, s in self._streams.items() if sid > g.last_stream_id]
            for s in doomed:
                del self._streams[s.id]
            # The streams the server goes on with learn of the drain too (a
            # NormalizeStream moves its unanswered items elsewhere).
            touched.extend(self._streams.values())
            self._active -= len(doomed)
            self._cond.notify_all()
            close_now = self._active == 0
        for s in doomed:
            with s.lock:
                s.error = Unavailable(f"{self.address} did not process this call (GoAway after stream "
                                      f"{g.last_stream_id}: {g.message or StatusCode.of(g.code).name}); "
                                      f"safe to retry on another connection")
                s.finished = True
            touched.append(s)
        if close_now:
            self._fail(Unavailable(f"{self.address} closed the connection after GoAway"))
        self._notify_event()

    def _notify_event(self) -> None:
        if self._on_event is not None:
            try:
                self._on_event()
            except Exception:  # a callback must not kill the reader
                pass

    def _fail(self, err: RPCError) -> None:
        """Marks the connection failed and wakes everything waiting on it."""
        with self._cond:
            if self._error is not None:
                return
            self._error = err
            streams = list(self._streams.values())
            self._streams.clear()
            self._active = 0
            self._cond.notify_all()
        for s in streams:
            with s.lock:
                if not s.finished:
                    s.error = fresh(err)
                    s.finished = True
                s.cond.notify_all()
        for ev in list(self._pong_waiters.values()):
            ev.set()
        self._ka_event.set()
        self._channel.shutdown()
        self._notify_event()

    # -- keepalive -------------------------------------------------------------

    def _keepalive_loop(self) -> None:
        interval = self._keepalive_interval
        tick = 1.0 if interval is None else max(0.01, min(1.0, interval / 4))
        while self._error is None:
            # While a timed-out write left a backlog, look at it often: it
            # goes out as soon as the server reads again.
            self._ka_event.wait(min(tick, 0.05) if self._channel.backlog else tick)
            self._ka_event.clear()
            if self._error is not None:
                return
            if self._channel.backlog:
                try:
                    self._channel.flush(0.05)
                except OSError:
                    return  # the reader reports the broken connection
            while self._control:
                data = self._control.popleft()
                try:
                    outcome = self._channel.send(data, 1.0)
                except OSError:
                    return
                if outcome == BUSY:
                    self._control.appendleft(data)
                    break
            if interval is None:
                continue
            now = time.monotonic()
            if self._ping_sent is not None:
                if self._last_recv > self._ping_sent:
                    self._ping_sent = None
                elif now - self._ping_sent > self._keepalive_timeout:
                    self._fail(Unavailable(
                        f"{self.address} did not answer a Ping within {self._keepalive_timeout}s; "
                        f"the connection is considered dead"))
                    return
            elif now - self._last_recv >= interval:
                self._ping_sent = now
                payload = next(self._ping_seq).to_bytes(8, "big")
                try:
                    self._channel.send(encode_frame(wire.Frame(ping=wire.Ping(payload=payload))), 0.1)
                except OSError:
                    return

    def ping(self, deadline: Optional[float]) -> float:
        """Sends a Ping and waits for its Pong; returns the round trip in seconds."""
        payload = b"call" + next(self._ping_seq).to_bytes(8, "big")
        ev = threading.Event()
        self._pong_waiters[payload] = ev
        start = time.monotonic()
        try:
            # Checked after registering: _fail() sets _error, then wakes every
            # registered waiter, so a failure is either seen here or wakes us.
            if self._error is not None:
                raise fresh(self._error)
            self.send(encode_frame(wire.Frame(ping=wire.Ping(payload=payload))), deadline, what="Ping")
            if not ev.wait(remaining(deadline)):
                raise DeadlineExceeded("no Pong within the timeout")
        finally:
            self._pong_waiters.pop(payload, None)
        if self._error is not None:
            raise fresh(self._error)
        return time.monotonic() - start

    def close(self) -> None:
        """Closes the connection; calls still running fail with UNAVAILABLE."""
        self._fail(Unavailable("the client was closed"))
        if threading.current_thread() is not self._reader:
            self._reader.join(5)
        ka = getattr(self, "_keepalive", None)
        if ka is not None and threading.current_thread() is not ka:
            ka.join(5)
