"""Framing and error mapping, without sockets."""

import pytest

from adrnorm_client import RPCError, StatusCode, error_for_status
from adrnorm_client import errors
from adrnorm_client._proto.adrnorm.wire.v1 import frame_pb2 as wire
from adrnorm_client._wire import FrameDecoder, FramingError, encode_frame


def _frames():
    return [
        wire.Frame(stream_id=0, hello=wire.Hello(protocol_version=1, client_name="t")),
        wire.Frame(stream_id=1, call=wire.Call(method="/adrnorm.v1.Normalizer/Health", payload=b"",
                                               half_close=True)),
        wire.Frame(stream_id=3, message=wire.Message(payload="头晕".encode() * 300)),
        wire.Frame(stream_id=3, status=wire.Status(code=3, message="mention: empty")),
    ]


def test_decoder_accepts_every_split():
    frames = _frames()
    data = b"".join(encode_frame(f) for f in frames)
    for cut in range(len(data) + 1):
        d = FrameDecoder(1 << 20)
        got = d.feed(data[:cut]) + d.feed(data[cut:])
        assert got == frames, f"split at {cut}"


def test_decoder_byte_by_byte():
    frames = _frames()
    data = b"".join(encode_frame(f) for f in frames)
    d = FrameDecoder(1 << 20)
    got = []
    for i in range(len(data)):
        got += d.feed(data[i:i + 1])
    assert got == frames
    # The presence of an empty Call.payload survives the round trip.
    assert got[1].call.HasField("payload")


def test_decoder_rejects_zero_and_oversized_lengths_before_buffering():
    with pytest.raises(FramingError, match="length 0"):
        FrameDecoder(100).feed(b"\x00\x00\x00\x00")
    with pytest.raises(FramingError, match="length 4294967295"):
        FrameDecoder(100).feed(b"\xff\xff\xff\xff")  # nothing else needed to fail


def test_decoder_rejects_garbage_frame():
    with pytest.raises(FramingError, match="undecodable"):
        FrameDecoder(100).feed(b"\x00\x00\x00\x02\xff\xff")


@pytest.mark.parametrize("code", list(StatusCode)[1:])
def test_every_status_code_has_its_error_class(code):
    e = error_for_status(int(code), "why")
    assert isinstance(e, RPCError)
    assert e.code == code and e.message == "why"
    assert type(e).__name__ != "RPCError"
    assert str(e) == f"{code.name}: why"


def test_unknown_code_maps_to_unknown_error():
    e = error_for_status(99, "later server")
    assert isinstance(e, errors.UnknownError) and e.code == StatusCode.UNKNOWN


def test_specific_classes():
    assert isinstance(error_for_status(3, "x"), errors.InvalidArgument)
    assert isinstance(error_for_status(4, "x"), errors.DeadlineExceeded)
    assert isinstance(error_for_status(14, "x"), errors.Unavailable)
    assert isinstance(error_for_status(7, "x"), errors.PermissionDenied)


def test_tests_import_the_installed_package():
    import os
    import sys

    import adrnorm_client
    if os.environ.get("ADRNORM_PYCLIENT_INSTALLED") == "1":
        assert adrnorm_client.__file__.startswith(sys.prefix), adrnorm_client.__file__
        from importlib.resources import files
        assert files("adrnorm_client").joinpath("py.typed").is_file()


def test_enums_print_their_names():
    from adrnorm_client import HealthStatus, Template
    assert str(HealthStatus.SERVING) == "SERVING" and f"{Template.FULL}" == "FULL"
    assert str(StatusCode.INVALID_ARGUMENT) == "INVALID_ARGUMENT" and StatusCode.INVALID_ARGUMENT == 3
