"""TLS over a plain socket through memory BIOs.

Why not ``SSLSocket``: the connection reads on one thread while other threads
write, and OpenSSL does not allow ``SSL_read`` and ``SSL_write`` on one
``SSL*`` at the same time. Here every touch of the ``SSLObject`` holds
``_ssl_lock`` (held only for in-memory work, never across socket I/O), the
socket itself is read by one thread and written under ``_send_lock``, which
also keeps TLS records in order on the wire. Lock order: send, then ssl.

Writes never block past the caller's deadline: the socket is written with
``MSG_DONTWAIT`` between ``poll()`` waits. Bytes already encrypted must reach
the peer in order, so what a timed-out write left unsent stays in a backlog
that the next write (or :meth:`TLSChannel.flush`) sends first.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from typing import List, Optional

_RECV_BYTES = 256 * 1024
_SEND_BYTES = 256 * 1024

#: What :meth:`TLSChannel.send` did: everything is on the socket; nothing was
#: sent (the send side stayed busy, or an earlier write's backlog did not
#: drain); or the data is committed but part of it waits in the backlog.
SENT, BUSY, QUEUED = "sent", "busy", "queued"


class ChannelClosed(Exception):
    """The peer closed the connection (TCP EOF or TLS close_notify); the
    message says which."""


#: ChannelClosed's messages.
CLOSED_TLS = "the peer ended the TLS session (close_notify)"
CLOSED_TCP = "the peer closed the TCP connection without a TLS close_notify"


class TLSChannel:
    """A TLS session on a connected socket, safe for one reader thread and
    any number of writer threads. Call order: :meth:`handshake` once, then
    :meth:`recv` (one thread) / :meth:`send` (any), then :meth:`shutdown`
    (any thread, wakes the others) and :meth:`close` (after the reader)."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, *, server_side: bool,
                 server_hostname: Optional[str] = None) -> None:
        self.sock = sock
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._in, self._out, server_side=server_side,
                                     server_hostname=server_hostname)
        self._ssl_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._shut = False
        self._after_handshake = False
        # Set once the peer's close_notify or TCP EOF has been seen: every
        # recv() from then on raises ChannelClosed without touching the socket.
        self._closed_by_peer: Optional[str] = None
        self._close_notify_sent = False
        # Encrypted bytes not yet on the socket (under _send_lock): what a
        # write left when its deadline came. Sent before anything else.
        self._backlog = bytearray()
        self._backlog_at = 0

    # -- set-up -------------------------------------------------------------

    def handshake(self, deadline: float) -> None:
        """Runs the TLS handshake, bounded by ``deadline`` (time.monotonic()).
        Raises ``ssl.SSLError`` (with OpenSSL's reason), ``ChannelClosed`` or
        ``socket.timeout``."""
        while True:
            try:
                self._ssl.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush_blocking(deadline)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout("TLS handshake timed out")
                self.sock.settimeout(remaining)
                data = self.sock.recv(_RECV_BYTES)
                if not data:
                    raise ChannelClosed("the peer closed the connection during the TLS handshake")
                self._in.write(data)
            except ssl.SSLError:
                # Send our alert, so the peer learns why, then re-raise.
                try:
                    self._flush_blocking(min(deadline, time.monotonic() + 1))
                except OSError:
                    pass
                raise
        self._flush_blocking(deadline)
        self.sock.settimeout(None)
        # The peer's first application data may have come in the same read as
        # its last handshake record: it sits in our BIO, and the socket will
        # not signal it again. recv() decrypts it before touching the socket.
        self._after_handshake = True

    def _flush_blocking(self, deadline: float) -> None:
        data = self._out.read()
        if data:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            self.sock.sendall(data)

    @property
    def alpn_protocol(self) -> Optional[str]:
        return self._ssl.selected_alpn_protocol()

    def peer_certificate(self) -> Optional[dict]:
        return self._ssl.getpeercert()

    # -- data ----------------------------------------------------------------

    def recv(self) -> bytes:
        """Blocks for the next plaintext (possibly b"" when a read carried only
        TLS records). Raises ``ChannelClosed`` at EOF (TCP, or the peer's TLS
        close_notify; plaintext that came before it is returned first),
        ``ssl.SSLError`` on a TLS error (an alert from the peer included),
        ``OSError`` otherwise. Never holds ``_ssl_lock`` while it blocks."""
        if self._closed_by_peer is not None:
            raise ChannelClosed(self._closed_by_peer)
        if self._after_handshake:
            self._after_handshake = False
            data = b""
        else:
            data = self.sock.recv(_RECV_BYTES)
            if not data:
                self._closed_by_peer = CLOSED_TCP
                raise ChannelClosed(CLOSED_TCP)
        chunks: List[bytes] = []
        with self._ssl_lock:
            if data:
                self._in.write(data)
            try:
                while True:
                    chunk = self._ssl.read(_RECV_BYTES)
                    if not chunk:
                        # SSLObject.read returns b"" (it does not raise) once
                        # the peer's close_notify has been read, and again on
                        # every later call: the session is over.
                        self._closed_by_peer = CLOSED_TLS
                        break
                    chunks.append(chunk)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                self._closed_by_peer = CLOSED_TLS
            pending = self._out.pending
        if pending and self._closed_by_peer is None:
            # TLS answers of our own (rare in 1.3: key updates). Never block the
            # reader on a writer: if one holds the lock it drains the BIO.
            if self._send_lock.acquire(blocking=False):
                try:
                    self._drain_locked()
                finally:
                    self._send_lock.release()
        if self._closed_by_peer is not None and not chunks:
            raise ChannelClosed(self._closed_by_peer)
        return b"".join(chunks)

    def send(self, data: bytes, timeout: Optional[float] = None) -> str:
        """Encrypts and sends ``data`` whole, in order with other senders,
        for at most ``timeout`` seconds (None: until done). Returns ``SENT``;
        ``BUSY`` if nothing was sent (the send lock was not free in time, or
        the backlog of an earlier write did not drain); or ``QUEUED`` if the
        peer did not take it all in time: the data is committed and its rest
        goes out, first, with the next write or :meth:`flush`. Raises
        ``OSError`` if the socket fails (the connection is then unusable)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if not self._send_lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return BUSY
        try:
            if not self._write_backlog(deadline):
                return BUSY
            with self._ssl_lock:
                view = memoryview(data)
                while view:
                    n = self._ssl.write(view)
                    view = view[n:]
                self._backlog += self._out.read()
            return SENT if self._write_backlog(deadline) else QUEUED
        finally:
            self._send_lock.release()

    @property
    def backlog(self) -> int:
        """Encrypted bytes committed but not yet on the socket."""
        return len(self._backlog) - self._backlog_at

    def flush(self, timeout: Optional[float] = 0.0) -> bool:
        """Sends the backlog for at most ``timeout`` seconds (None: until
        done); True once it is empty. Never waits for a busy send side."""
        if not self._send_lock.acquire(blocking=False):
            return False
        try:
            return self._write_backlog(None if timeout is None else time.monotonic() + max(0.0, timeout))
        finally:
            self._send_lock.release()

    def _write_backlog(self, deadline: Optional[float]) -> bool:
        """Writes the backlog (under _send_lock) until it is empty (True) or
        ``deadline`` passes (False); each write takes what the socket takes
        without blocking, and waits in between are bounded by the deadline."""
        poller: Optional[select.poll] = None
        while self._backlog_at < len(self._backlog):
            try:
                end = min(len(self._backlog), self._backlog_at + _SEND_BYTES)
                with memoryview(self._backlog) as view:
                    n = self.sock.send(view[self._backlog_at:end], socket.MSG_DONTWAIT)
                self._backlog_at += n
                continue
            except BlockingIOError:
                pass
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            if poller is None:
                poller = select.poll()
                poller.register(self.sock.fileno(), select.POLLOUT)
            # A shutdown() of the socket (the connection failing) wakes this
            # with POLLHUP/POLLERR; the next send() then raises.
            poller.poll(None if left is None else max(1, int(left * 1000)))
        self._backlog.clear()
        self._backlog_at = 0
        return True

    def _drain_locked(self) -> None:
        """Moves our TLS records into the backlog and sends what the socket
        takes now (the reader's path: it never waits on the peer)."""
        with self._ssl_lock:
            self._backlog += self._out.read()
        self._write_backlog(time.monotonic())

    def close_gracefully(self, data: bytes = b"", timeout: float = 5.0) -> None:
        """Sends ``data``, then TLS close_notify, in one write, then a TCP FIN:
        the graceful end of the session (what ``adrnorm serve`` does when it
        drains). The peer's close_notify is not awaited; :meth:`recv` still
        reads until the peer closes. ``timeout`` bounds the wait for the send
        side. Idempotent; raises ``OSError``."""
        if not self._send_lock.acquire(timeout=max(0.0, timeout)):
            raise socket.timeout("the send side stayed busy")
        try:
            if self._close_notify_sent or self._shut:
                return
            self._close_notify_sent = True
            with self._ssl_lock:
                view = memoryview(data)
                while view:
                    n = self._ssl.write(view)
                    view = view[n:]
                try:
                    self._ssl.unwrap()  # queues close_notify; then wants the peer's
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass
                self._backlog += self._out.read()
            if not self._write_backlog(time.monotonic() + max(0.0, timeout)):
                raise socket.timeout("the peer did not read the close_notify")
            self.sock.shutdown(socket.SHUT_WR)
        finally:
            self._send_lock.release()

    def shutdown(self) -> None:
        """Wakes a blocked reader and writers (both get an error); idempotent."""
        if self._shut:
            return
        self._shut = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Closes the descriptor; call once the reader thread has stopped."""
        self.shutdown()
        try:
            self.sock.close()
        except OSError:
            pass
