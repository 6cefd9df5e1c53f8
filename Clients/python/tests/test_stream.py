"""NormalizeStream: order, one-to-one results, item errors, laziness, credits."""

import itertools
import time

import pytest

from adrnorm_client import (DeadlineExceeded, HealthStatus, NormalizeRequest, StatusCode)

MENTIONS = ["吃完药后一直犯困头晕", "恶心想吐", "头疼得厉害", "皮肤痒起红疹", "拉肚子三天",
            "睡不着觉", "浑身没力气", "头晕恶心", "吐了两次", "犯困"]


def _items(n):
    """n requests; every 997th is blank (an item-level INVALID_ARGUMENT)."""
    for i in range(n):
        mention = "   " if i % 997 == 5 else f"{MENTIONS[i % len(MENTIONS)]}{'' if i % 3 else '了'}"
        yield NormalizeRequest(mention, id=f"req-{i}", top_k=20)


def test_20000_items_one_to_one_in_order(client):
    n = 20000
    start = time.monotonic()
    got = list(client.normalize_stream(_items(n), timeout=600))
    elapsed = time.monotonic() - start
    print(f"\n20000-item stream: {elapsed:.2f}s, {n / elapsed:,.0f} mentions/s")
    assert len(got) == n
    assert [r.id for r in got] == [f"req-{i}" for i in range(n)]
    bad = [i for i, r in enumerate(got) if not r.ok]
    assert bad == [i for i in range(n) if i % 997 == 5]
    assert all(got[i].error.code == StatusCode.INVALID_ARGUMENT and "mention" in got[i].error.message
               for i in bad)
    # Each streamed result equals the unary answer for the same request.
    for req in itertools.islice(_items(30), 0, 30, 7):
        if req.mention.strip():
            unary = client.normalize(req)
            streamed = got[int(req.id.split("-")[1])]
            assert unary.pt_codes == streamed.pt_codes
            # Batched and single scoring may differ in the last float bits.
            assert [m.probability for m in unary.matches] == pytest.approx(
                [m.probability for m in streamed.matches], abs=1e-4)


def test_strings_get_index_ids_and_stream_defaults(client):
    got = list(client.normalize_stream(["头晕", "恶心", "头痛"], top_k=3, threshold=0.0))
    assert [r.id for r in got] == ["0", "1", "2"]
    assert all(len(r.matches) == 3 for r in got)


def test_empty_stream(client):
    assert list(client.normalize_stream([])) == []


def test_input_is_pulled_lazily_and_bounded_by_the_window(client):
    pulled = 0

    def endless():
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield f"头晕{i % 7}"

    window = 64
    gen = client.normalize_stream(endless(), window=window)
    assert pulled == 0  # nothing is sent before the first result is asked for
    for _ in range(10):
        next(gen)
    time.sleep(0.3)  # let the sender run as far as it may
    assert pulled <= 10 + window + 1
    gen.close()  # cancels the stream
    assert client.health() == HealthStatus.SERVING
    assert len(list(client.normalize_stream(["头晕"] * 5))) == 5


def test_iterator_error_cancels_the_stream_and_propagates(client):
    def failing():
        yield from ["头晕"] * 5
        raise ValueError("bad input row 6")

    with pytest.raises(ValueError, match="bad input row 6"):
        for _ in client.normalize_stream(failing()):
            pass
    assert client.health() == HealthStatus.SERVING


def test_bad_item_type_raises_type_error(client):
    with pytest.raises(TypeError, match="item 1"):
        list(client.normalize_stream(["头晕", 42]))


def test_stream_deadline(client):
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        for _ in client.normalize_stream(itertools.repeat("头晕恶心"), timeout=0.5):
            pass
    assert time.monotonic() - start < 5
    assert client.health() == HealthStatus.SERVING


@pytest.mark.fake_only
def test_credit_is_never_exceeded(certs, make_client):
    from fake_server import FakeServer
    srv = FakeServer(str(certs), initial_stream_credit=4)
    try:
        c = make_client(srv)
        assert c.initial_stream_credit == 4
        got = list(c.normalize_stream(_items(3000)))
        assert len(got) == 3000
        assert srv.credit_violations == 0
        assert srv.max_outstanding <= 4
    finally:
        srv.stop()


@pytest.mark.fake_only
def test_slow_consumer_does_not_buffer_responses(certs, make_client, server):
    c = make_client(server)
    pulled = 0

    def counted():
        nonlocal pulled
        for i in range(5000):
            pulled += 1
            yield "头晕"

    gen = c.normalize_stream(counted(), window=100)
    next(gen)
    time.sleep(0.5)
    assert pulled <= 1 + 100 + 1
    assert sum(1 for _ in gen) == 4999


def test_items_over_the_frame_limit_fail_alone_in_their_place(client):
    """A request larger than the server's max_frame_bytes is never sent: it
    yields an INVALID_ARGUMENT item error where it stood, the stream goes on."""
    big = "头" * 1_500_000  # 4.5 MB of UTF-8, over the 4 MiB limit
    for mentions in (["头晕", big, "恶心", big], [big, big], [big, "头晕"]):
        results = list(client.normalize_stream(mentions, timeout=60))
        assert [r.id for r in results] == [str(i) for i in range(len(mentions))]
        for r, m in zip(results, mentions):
            if m is big:
                assert not r.ok and r.error.code == StatusCode.INVALID_ARGUMENT, r
                assert "frame limit" in r.error.message and "not sent" in r.error.message, r.error.message
            else:
                assert r.ok, r.error
