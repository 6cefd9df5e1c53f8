"""Framing (docs/PROTOCOL.md §Framing): a 4-byte big-endian length, then one encoded Frame.

:class:`FrameDecoder` is a pure state machine fed with bytes in any split;
the tests drive it byte by byte without sockets.
"""

from __future__ import annotations

import struct
from typing import List

from ._proto.adrnorm.wire.v1 import frame_pb2 as wire

_LEN = struct.Struct(">I")

#: The server's default max_frame_bytes (4 MiB + 1 KiB), used until its Hello.
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024 + 1024


class FramingError(Exception):
    """The peer sent a length of 0 or over the limit, or an undecodable frame."""


def encode_frame(frame: wire.Frame) -> bytes:
    """The length-prefixed bytes of ``frame``."""
    body = frame.SerializeToString()
    return _LEN.pack(len(body)) + body


def frame_length(data: bytes) -> int:
    """The body length of an encoded frame (its L)."""
    return len(data) - 4


class FrameDecoder:
    """Splits a byte stream into frames. ``max_frame_bytes`` bounds L before
    anything is buffered for it, so a hostile length allocates nothing."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> List[wire.Frame]:
        """Appends ``data`` and returns the frames now complete, in order.
        Raises :class:`FramingError` on a bad length or frame."""
        buf = self._buf
        buf += data
        frames: List[wire.Frame] = []
        pos = self._pos
        end = len(buf)
        while end - pos >= 4:
            (length,) = _LEN.unpack_from(buf, pos)
            if length == 0 or length > self.max_frame_bytes:
                raise FramingError(f"frame length {length} is outside 1…{self.max_frame_bytes}")
            if end - pos - 4 < length:
                break
            frame = wire.Frame()
            try:
                frame.ParseFromString(bytes(buf[pos + 4:pos + 4 + length]))
            except Exception as e:  # protobuf's DecodeError, by version
                raise FramingError(f"undecodable frame of {length} bytes: {e}") from None
            frames.append(frame)
            pos += 4 + length
        if pos == end:
            buf.clear()
            pos = 0
        elif pos > 65536:
            del buf[:pos]
            pos = 0
        self._pos = pos
        return frames
