"""Errors raised by the adrnorm client.

Every failed call raises an :class:`RPCError` subclass named after its status
code (gRPC's numbers and names), carrying ``code`` and ``message``. Connection
set-up failures raise :class:`HandshakeError` (both an :class:`ssl.SSLError`
and a :class:`ConnectionError`), or :class:`ConnectionError` for plain socket
failures; bad certificate or key files raise :class:`ClientConfigError`.
"""

from __future__ import annotations

import enum
import ssl
from typing import Dict, Optional, Type

__all__ = [
    "StatusCode",
    "RPCError",
    "Cancelled",
    "UnknownError",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
    "HandshakeError",
    "ClientConfigError",
    "error_for_status",
]


class StatusCode(enum.IntEnum):
    """A call's status: gRPC's codes (``adrnorm.wire.v1.Code``)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    def __str__(self) -> str:
        return self.name

    @classmethod
    def of(cls, value: int) -> "StatusCode":
        """The code for ``value``; an unknown number becomes ``UNKNOWN``."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


class RPCError(Exception):
    """A call that ended with a non-OK status.

    ``code`` is the :class:`StatusCode`; ``message`` the server's (or the
    client's) explanation. Catch a subclass (``InvalidArgument``,
    ``DeadlineExceeded``, ``Unavailable``, …) to handle one code.
    """

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str, code: Optional[StatusCode] = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    def __reduce__(self):  # keeps the code when pickled (multiprocessing)
        return (type(self), (self.message, self.code))


class Cancelled(RPCError):
    """The call was cancelled (by the client or the server)."""

    code = StatusCode.CANCELLED


class UnknownError(RPCError):
    """The server reported an error it did not classify."""

    code = StatusCode.UNKNOWN


class InvalidArgument(RPCError):
    """A request field is out of range; the message names the field."""

    code = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(RPCError):
    """The call's timeout passed before it finished."""

    code = StatusCode.DEADLINE_EXCEEDED


class NotFound(RPCError):
    """The method or entity does not exist."""

    code = StatusCode.NOT_FOUND


class AlreadyExists(RPCError):
    """The entity already exists."""

    code = StatusCode.ALREADY_EXISTS


class PermissionDenied(RPCError):
    """The client certificate's identity is not allowed on this server."""

    code = StatusCode.PERMISSION_DENIED


class ResourceExhausted(RPCError):
    """The server is overloaded, or the client sent beyond its credit."""

    code = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(RPCError):
    """The server is not in a state to run the call."""

    code = StatusCode.FAILED_PRECONDITION


class Aborted(RPCError):
    """The call was aborted."""

    code = StatusCode.ABORTED


class OutOfRange(RPCError):
    """A value is out of range."""

    code = StatusCode.OUT_OF_RANGE


class Unimplemented(RPCError):
    """The server does not implement this method."""

    code = StatusCode.UNIMPLEMENTED


class Internal(RPCError):
    """A bug in the server, or a protocol violation seen by the client."""

    code = StatusCode.INTERNAL


class Unavailable(RPCError):
    """The connection failed or is closing (GoAway); retrying on a new
    :class:`~adrnorm_client.Client` may succeed."""

    code = StatusCode.UNAVAILABLE


class DataLoss(RPCError):
    """Responses were lost (for example, a stream ended early)."""

    code = StatusCode.DATA_LOSS


class Unauthenticated(RPCError):
    """The client is not authenticated."""

    code = StatusCode.UNAUTHENTICATED


_BY_CODE: Dict[StatusCode, Type[RPCError]] = {
    cls.code: cls
    for cls in (
        Cancelled, UnknownError, InvalidArgument, DeadlineExceeded, NotFound,
        AlreadyExists, PermissionDenied, ResourceExhausted, FailedPrecondition,
        Aborted, OutOfRange, Unimplemented, Internal, Unavailable, DataLoss,
        Unauthenticated,
    )
}


def error_for_status(code: int, message: str) -> RPCError:
    """The :class:`RPCError` subclass instance for a non-OK wire status."""
    status = StatusCode.of(code)
    cls = _BY_CODE.get(status, UnknownError)
    return cls(message or status.name, status)


class HandshakeError(ssl.SSLError, ConnectionError):
    """The TLS handshake, or the protocol Hello after it, failed.

    The message says which side refused what: the server's certificate failing
    verification against ``ca``, or the server refusing the client certificate
    (the TLS alert it sent, e.g. ``unknown ca`` or ``certificate expired``).
    ``alert`` holds OpenSSL's reason (``TLSV1_ALERT_UNKNOWN_CA``…) when known.
    """

    def __init__(self, message: str, alert: Optional[str] = None) -> None:
        super().__init__(message)
        self.alert = alert

    def __str__(self) -> str:
        return str(self.args[0])


class ClientConfigError(ValueError):
    """A certificate, key or CA file cannot be loaded; the message names it."""
