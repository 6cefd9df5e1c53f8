"""A one-connection TLS server that ends the connection the way a test asks.

It is independent of the client's own TLS code (its own ``ssl.SSLObject``
over memory BIOs), does the TLS handshake, reads the client's Hello, answers
with a Hello, answers the client's first Health call (its readiness check: SERVING), then
reads frames (and answers nothing else) until the test calls
:meth:`ScriptedPeer.end` with one of ``ENDINGS``:

``close_notify``         TLS close_notify, then close the socket (FIN)
``close_notify_open``    TLS close_notify, and keep the socket open (no FIN)
``goaway_close_notify``  GoAway and close_notify in one write, then FIN and
                         close (what ``adrnorm serve`` does on SIGTERM)
``fin``                  close the socket without close_notify (TCP EOF)
``rst``                  close with SO_LINGER 0 (TCP RST)
``half_close``           shutdown(SHUT_WR), then stay silent: read nothing,
                         close nothing

``hello=False`` makes it end the connection (the same ways) instead of
answering the Hello; :meth:`ScriptedPeer.stop_reading` makes it read nothing
more (the client's writes then fill the socket buffers and block), and
:meth:`ScriptedPeer.resume_reading` makes it read again. Its Hello
allows frames of ``MAX_FRAME_BYTES``, so that one request can do that. Every
blocking step here has a timeout.
"""

from __future__ import annotations

import queue
import select
import socket
import ssl
import struct
import threading
import time
from typing import List, Optional

from fake_server import server_tls_context

from adrnorm_client._proto.adrnorm.v1 import normalizer_pb2 as pb
from adrnorm_client._proto.adrnorm.wire.v1 import frame_pb2 as wire

MAX_FRAME_BYTES = 64 * 1024 * 1024
ENDINGS = ("close_notify", "close_notify_open", "goaway_close_notify", "fin", "rst", "half_close")


def _encode(frame: wire.Frame) -> bytes:
    body = frame.SerializeToString()
    return struct.pack(">I", len(body)) + body


class ScriptedPeer:
    host = "127.0.0.1"

    def __init__(self, certs: str, *, hello: bool = True) -> None:
        ctx = server_tls_context(certs)
        self._ctx = ctx
        self._hello = hello
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(30)
        self.port = self._listener.getsockname()[1]
        self._commands: "queue.Queue[str]" = queue.Queue()
        self.ready = threading.Event()  # the connection is set up (Hello answered, or about to end)
        self.call_seen = threading.Event()  # a Call frame arrived
        self.ended = threading.Event()  # the requested ending was carried out
        self.muted = threading.Event()  # stop_reading() took effect
        self.unmuted = threading.Event()  # resume_reading() took effect
        self.frames: List[str] = []
        self.errors: List[BaseException] = []
        self._sock: Optional[socket.socket] = None
        self._thread = threading.Thread(target=self._run, name="scripted-peer", daemon=True)
        self._thread.start()

    # -- the test's side ----------------------------------------------------------

    def end(self, how: str, timeout: float = 10.0) -> None:
        """Ends the connection ``how`` (one of ENDINGS) and waits until it is done."""
        assert how in ENDINGS, how
        self._commands.put(how)
        if not self.ended.wait(timeout):
            raise AssertionError(f"the scripted peer did not carry out {how!r} within {timeout}s: {self.errors}")

    def stop_reading(self, timeout: float = 10.0) -> None:
        """Reads nothing more from the socket (which stays open)."""
        self._commands.put("mute")
        if not self.muted.wait(timeout):
            raise AssertionError(f"the scripted peer did not stop reading: {self.errors}")

    def resume_reading(self, timeout: float = 10.0) -> None:
        """Reads the socket again after :meth:`stop_reading`."""
        self.muted.clear()
        self._commands.put("resume")
        if not self.unmuted.wait(timeout):
            raise AssertionError(f"the scripted peer did not read again: {self.errors}")

    def stop(self) -> None:
        self._commands.put("stop")
        self._thread.join(10)
        for s in (self._sock, self._listener):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    # -- the peer's thread --------------------------------------------------------

    def _run(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except OSError as e:
            self.errors.append(e)
            return
        self._sock = sock
        sock.settimeout(10)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self._ctx.wrap_bio(inc, out, server_side=True)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    if out.pending:
                        sock.sendall(out.read())
                    if time.monotonic() > deadline:
                        raise TimeoutError("handshake")
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionError("the client closed during the handshake")
                    inc.write(data)
            if out.pending:
                sock.sendall(out.read())
            buf = bytearray()
            reading = True
            # The client's Hello may have come with its last handshake
            # records: it sits in the BIO already, so decrypt before waiting.
            buffered = True
            hello_done = False
            health_done = False
            if not self._hello:
                self.ready.set()
            while True:
                try:
                    cmd = self._commands.get_nowait()
                except queue.Empty:
                    cmd = None
                if cmd == "stop":
                    return
                if cmd == "mute":
                    reading = False
                    self.muted.set()
                elif cmd == "resume":
                    reading = True
                    self.unmuted.set()
                elif cmd is not None:
                    reading = self._end(cmd, sock, obj, out)
                    self.ended.set()
                if not reading:
                    time.sleep(0.02)
                    continue
                if not buffered:
                    r, _, _ = select.select([sock], [], [], 0.02)
                    if not r:
                        continue
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        reading = False
                        continue
                    if not data:
                        reading = False
                        continue
                    inc.write(data)
                buffered = False
                try:
                    while True:
                        chunk = obj.read(65536)
                        if not chunk:
                            break
                        buf += chunk
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass
                if out.pending:
                    sock.sendall(out.read())
                while len(buf) >= 4:
                    (n,) = struct.unpack_from(">I", buf)
                    if len(buf) < 4 + n:
                        break
                    f = wire.Frame()
                    f.ParseFromString(bytes(buf[4:4 + n]))
                    del buf[:4 + n]
                    kind = f.WhichOneof("kind")
                    if (kind == "call" and f.call.method.endswith("/Health") and f.call.half_close
                            and not health_done):
                        health_done = True
                        # The client's readiness check: SERVING, not recorded.
                        obj.write(_encode(wire.Frame(stream_id=f.stream_id, message=wire.Message(
                            payload=pb.HealthResponse(status=pb.HealthResponse.SERVING).SerializeToString())))
                            + _encode(wire.Frame(stream_id=f.stream_id, status=wire.Status())))
                        sock.sendall(out.read())
                        continue
                    self.frames.append(kind)
                    if kind == "hello" and self._hello and not hello_done:
                        hello_done = True
                        obj.write(_encode(wire.Frame(hello=wire.Hello(
                            protocol_version=1, server_name="scripted-peer", max_frame_bytes=MAX_FRAME_BYTES,
                            max_concurrent_streams=8, initial_stream_credit=8))))
                        sock.sendall(out.read())
                        self.ready.set()
                    elif kind == "call":
                        self.call_seen.set()
        except BaseException as e:  # reported by end()'s timeout
            self.errors.append(e)
            self.ready.set()

    def _end(self, how: str, sock: socket.socket, obj: ssl.SSLObject, out: ssl.MemoryBIO) -> bool:
        """Carries out ``how``; returns whether to go on reading."""
        if how in ("close_notify", "close_notify_open", "goaway_close_notify"):
            if how == "goaway_close_notify":
                obj.write(_encode(wire.Frame(goaway=wire.GoAway(
                    last_stream_id=0, code=wire.UNAVAILABLE, message="server shutting down"))))
            try:
                obj.unwrap()  # queues close_notify; the client's is not awaited
            except ssl.SSLWantReadError:
                pass
            sock.sendall(out.read())  # one write: GoAway and close_notify arrive together
            if how == "close_notify_open":
                return True
            sock.shutdown(socket.SHUT_WR)
            if how == "goaway_close_notify":
                return True  # like the real server: FIN, then read until the client's FIN
            sock.close()
            return False
        if how == "fin":
            sock.shutdown(socket.SHUT_WR)
            sock.close()
            return False
        if how == "rst":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return False
        if how == "half_close":
            sock.shutdown(socket.SHUT_WR)
            return False
        raise AssertionError(how)
