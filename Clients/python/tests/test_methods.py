"""Every unary method, typed errors, request limits (fake or real server)."""

import math

import pytest

from adrnorm_client import (CodedLLT, HealthStatus, InvalidArgument, LLTChoice, MatchSource, NormalizeRequest,
                            Provenance, RetrievalMode, ReviewReason, ScorePair, Scorer, StatusCode, Template)


def test_health(client):
    assert client.health() == HealthStatus.SERVING


def test_info(client):
    info = client.info()
    assert info.protocol_version == 1
    assert info.server_name
    assert info.dictionary.pt_count > 0
    assert info.model.max_length > 0
    assert info.model.id2label.get(info.model.match_label_id) == "match"
    assert info.defaults.top_k == 100
    assert math.isclose(info.defaults.threshold, 0.3)
    assert info.defaults.template == Template.FULL
    limits = info.connection_limits
    assert limits is not None, "adrnorm serve reports its connection limits"
    assert (limits.max_concurrent_streams, limits.initial_stream_credit) == (64, 16)
    assert (limits.max_request_bytes_per_connection, limits.max_queued_output_bytes) == (32 << 20, 512 << 20)
    assert (limits.stream_idle_timeout_ms, limits.write_timeout_ms) == (300_000, 60_000)


def test_retrieve(client):
    r = client.retrieve("吃完药后一直犯困头晕", top_k=5)
    assert len(r.candidates) == 5
    assert [c.rank for c in r.candidates] == [1, 2, 3, 4, 5]
    scores = [c.score for c in r.candidates]
    assert scores == sorted(scores, reverse=True)
    assert r.candidates[0].retrieval_prob == pytest.approx(1.0 if scores[0] > 0 else 0.0)
    assert all(c.term.pt_code and c.term.pt_name for c in r.candidates)
    assert len({c.term.pt_code for c in r.candidates}) == 5
    # The effective template and mode (a server may also echo UNSPECIFIED).
    assert r.template in (Template.FULL, Template.UNSPECIFIED)
    assert r.mode in (RetrievalMode.BM25, RetrievalMode.UNSPECIFIED)
    exact = client.retrieve("头晕", top_k=3, mode=RetrievalMode.EXACT)
    assert exact.mode == RetrievalMode.EXACT
    assert [c.score for c in exact.candidates] == sorted((c.score for c in exact.candidates), reverse=True)


def test_retrieve_default_top_k_is_100_or_the_dictionary(client):
    pts = client.info().dictionary.pt_count
    assert len(client.retrieve("头晕").candidates) == min(100, pts)


def test_score(client):
    best = client.retrieve("头晕", top_k=2).candidates
    scores = client.score([("头晕", best[0].term.pt_code),
                           ScorePair("头晕", pt_code=best[1].term.pt_code),
                           ScorePair("头晕", candidate_text="PT: 头晕")])
    assert len(scores) == 3
    for s in scores:
        assert 0.0 <= s.prob_1 <= 1.0
        assert s.prob_0 + s.prob_1 == pytest.approx(1.0, abs=1e-5)
        assert s.candidate_text
    assert scores[2].candidate_text == "PT: 头晕"


def test_score_pair_needs_one_candidate():
    with pytest.raises(ValueError, match="exactly one"):
        ScorePair("头晕")._to_proto()


def test_normalize(client):
    r = client.normalize("吃完药后一直犯困头晕", id="m-1", top_k=10, return_top_scored=3)
    assert r.ok and r.id == "m-1"
    assert r.threshold == pytest.approx(0.3)
    probs = [m.probability for m in r.matches]
    assert probs == sorted(probs, reverse=True)
    assert all(p >= 0.3 for p in probs)
    assert len(r.top_scored) == 3
    assert r.top_scored[0].probability >= r.top_scored[-1].probability
    assert all(1 <= m.retrieval_rank <= 10 for m in r.matches)
    assert r.pt_codes == tuple(m.term.pt_code for m in r.matches)


def test_normalize_codes_every_match_with_provenance_equal_to_info(client):
    r = client.normalize("头疼", id="c", top_k=10, scorer=Scorer.LEXICAL)
    assert r.ok and r.matches
    for m in r.matches:
        assert isinstance(m.llt, CodedLLT) and m.llt.llt_code and m.llt.llt_name
        assert m.llt.how in (LLTChoice.EXACT, LLTChoice.CLOSEST, LLTChoice.PT_LLT)
        assert m.source in (MatchSource.MODEL, MatchSource.LEXICAL)
    assert any(m.llt.how == LLTChoice.EXACT and m.llt.llt_name == "头疼" for m in r.matches)
    info = client.info()
    p = r.provenance
    assert isinstance(p, Provenance)
    assert p.dictionary_digest == info.dictionary.digest and p.llt_digest == info.dictionary.llt_digest
    assert p.meddra_version == info.dictionary.version
    assert p.review_margin == info.defaults.review_margin
    assert p.top_k == 10 and math.isclose(p.threshold, 0.3) and p.template == Template.FULL
    if p.scorer == Scorer.MODEL:
        assert p.weights_sha256 == info.model.weights_sha256 and p.precision == info.model.precision
    assert info.dictionary.llt_codes is True
    assert r.needs_review == (r.review_reason != ReviewReason.UNSPECIFIED)


def test_normalize_flags_no_match_for_review(client):
    before = client.info().coding.needs_review
    r = client.normalize(NormalizeRequest("xyzxyz", id="n", top_k=5, threshold=0.99))
    assert r.ok and not r.matches
    assert r.needs_review and r.review_reason == ReviewReason.NO_MATCH
    assert client.info().coding.needs_review >= before + 1


def test_normalize_threshold_zero_is_not_the_default(client):
    r = client.normalize(NormalizeRequest("头晕", id="z", top_k=4, threshold=0.0))
    assert r.threshold == 0.0
    assert len(r.matches) == 4  # every retrieved candidate reaches 0


def test_invalid_argument_is_typed(client):
    with pytest.raises(InvalidArgument) as e:
        client.normalize("   ")
    assert e.value.code == StatusCode.INVALID_ARGUMENT == 3
    assert "mention" in e.value.message
    with pytest.raises(InvalidArgument, match="threshold"):
        client.normalize("头晕", threshold=1.5)
    assert client.health() == HealthStatus.SERVING  # the connection is fine


def test_request_over_the_frame_limit_fails_locally(client):
    with pytest.raises(InvalidArgument, match="max_frame_bytes"):
        client.normalize("头" * (3 * 1024 * 1024))
    assert client.health() == HealthStatus.SERVING


def test_unknown_pt_code_is_invalid_argument(client):
    with pytest.raises(InvalidArgument, match="pt_code"):
        client.score([("头晕", "no-such-pt")])
