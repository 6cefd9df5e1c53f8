"""Plain, immutable values the client takes and returns.

They mirror the messages of ``Protos/adrnorm/v1/normalizer.proto``; the
``_from_proto`` helpers convert, so the protobuf classes never leak into user
code. Lists become tuples so that results can be hashed and compared.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

from ._proto.adrnorm.v1 import normalizer_pb2 as pb
from .errors import StatusCode

__all__ = [
    "Template", "RetrievalMode", "Scorer", "HealthStatus", "LLTChoice", "MatchSource", "ReviewReason",
    "PreferredTerm", "RetrievedCandidate", "RetrieveResult",
    "ScorePair", "PairScore",
    "NormalizeRequest", "CodedLLT", "MatchedTerm", "ScoredCandidate", "Timings", "ItemError",
    "Provenance", "NormalizeResult",
    "ModelInfo", "DictionaryInfo", "Defaults", "CacheStats", "CodingStats", "ServerInfo",
]


class _NamedIntEnum(enum.IntEnum):
    def __str__(self) -> str:  # "SERVING", not "1" (IntEnum's str on 3.11+)
        return self.name


class Template(_NamedIntEnum):
    """How a candidate PT is rendered to text (docs/PIPELINE.md §Templates)."""

    UNSPECIFIED = 0  #: the server's default (FULL unless configured)
    FULL = 1
    PT_ONLY = 2
    PT_LLT = 3


class RetrievalMode(_NamedIntEnum):
    """How candidates are retrieved."""

    UNSPECIFIED = 0  #: BM25
    BM25 = 1
    EXACT = 2


class Scorer(_NamedIntEnum):
    """What produces a normalization's probabilities."""

    UNSPECIFIED = 0  #: the server's default (MODEL when it has weights)
    MODEL = 1
    LEXICAL = 2


class HealthStatus(_NamedIntEnum):
    """The answer of :meth:`Client.health`."""

    UNKNOWN = 0
    SERVING = 1
    NOT_SERVING = 2


class LLTChoice(_NamedIntEnum):
    """How the LLT of a matched PT was chosen (README "Coding for E2B(R3)")."""

    UNSPECIFIED = 0
    EXACT = 1  #: a current LLT of the PT named exactly as the trimmed mention
    CLOSEST = 2  #: the most similar current LLT of the PT (ties by LLT code)
    PT_LLT = 3  #: the PT's own LLT: no current LLT similar enough
    SYNONYM = 4  #: the LLT the server's synonym list maps the mention to


class MatchSource(_NamedIntEnum):
    """What decided that a PT matches."""

    UNSPECIFIED = 0
    MODEL = 1  #: the cross-encoder's probability reached the threshold
    LEXICAL = 2  #: the lexical score reached the threshold
    SYNONYM = 3  #: the synonym list lists the mention (nothing scored)


class ReviewReason(_NamedIntEnum):
    """Why a result needs a human coder."""

    UNSPECIFIED = 0  #: no review needed
    NO_MATCH = 1  #: no PT reached the threshold
    NEAR_THRESHOLD = 2  #: a candidate's probability is within the review margin of the threshold


def _enum(cls, value: int):
    # A dict lookup: calling the enum class costs more on the hot path. A
    # newer server's value stays a plain number.
    return _MEMBERS[cls].get(value, value)


_MEMBERS = {cls: {m.value: m for m in cls}
            for cls in (Template, RetrievalMode, Scorer, HealthStatus, LLTChoice, MatchSource, ReviewReason)}


def _lower(value: Union[enum.IntEnum, int]) -> str:
    # "model", "near_threshold"; "" for UNSPECIFIED or a newer server's number.
    return value.name.lower() if isinstance(value, enum.IntEnum) and value.value != 0 else ""


@dataclass(frozen=True)
class PreferredTerm:
    """A MedDRA Preferred Term with its primary-SOC hierarchy."""

    pt_code: str
    pt_name: str
    llt_names: Tuple[str, ...] = ()
    hlt_name: str = ""
    hlgt_name: str = ""
    soc_name: str = ""
    soc_code: str = ""  #: empty when the dictionary is a CSV

    @classmethod
    def _from_proto(cls, m: pb.PreferredTerm) -> "PreferredTerm":
        return cls(m.pt_code, m.pt_name, tuple(m.llt_names), m.hlt_name,
                   m.hlgt_name, m.soc_name, m.soc_code)


@dataclass(frozen=True)
class RetrievedCandidate:
    """One retrieval hit: 1-based ``rank``, BM25 ``score`` (1/0 in EXACT
    mode) and ``retrieval_prob`` = score / best score returned."""

    rank: int
    term: PreferredTerm
    score: float
    retrieval_prob: float


@dataclass(frozen=True)
class RetrieveResult:
    """The answer of :meth:`Client.retrieve`, best candidate first."""

    candidates: Tuple[RetrievedCandidate, ...]
    template: Union[Template, int]
    mode: Union[RetrievalMode, int]

    @classmethod
    def _from_proto(cls, m: pb.RetrieveResponse) -> "RetrieveResult":
        return cls(
            tuple(RetrievedCandidate(c.rank, PreferredTerm._from_proto(c.term), c.score,
                                     c.retrieval_prob) for c in m.candidates),
            _enum(Template, m.template), _enum(RetrievalMode, m.mode))


@dataclass(frozen=True)
class ScorePair:
    """A (mention, candidate) pair for :meth:`Client.score`: give exactly one
    of ``pt_code`` (a PT of the server's dictionary, rendered with the call's
    template) or ``candidate_text`` (used as is)."""

    mention: str
    pt_code: Optional[str] = None
    candidate_text: Optional[str] = None

    def _to_proto(self) -> pb.ScorePair:
        if (self.pt_code is None) == (self.candidate_text is None):
            raise ValueError("ScorePair needs exactly one of pt_code or candidate_text "
                             f"(mention {self.mention!r})")
        if self.pt_code is not None:
            return pb.ScorePair(mention=self.mention, pt_code=self.pt_code)
        return pb.ScorePair(mention=self.mention, candidate_text=self.candidate_text)


@dataclass(frozen=True)
class PairScore:
    """The cross-encoder's output for one pair; ``prob_1`` is the
    probability of the label named ``match``."""

    logit_0: float
    logit_1: float
    prob_0: float
    prob_1: float
    candidate_text: str  #: the text that was scored
    precision: str = ""  #: the server's encoder arithmetic: "fp32" or "int8"


@dataclass(frozen=True)
class NormalizeRequest:
    """One mention to normalize. Fields left at their defaults take the
    server's (``top_k`` 100, ``threshold`` 0.3, template FULL); a
    ``threshold`` of ``0.0`` is a threshold of its own, ``None`` the default."""

    mention: str
    id: str = ""
    top_k: int = 0
    threshold: Optional[float] = None
    template: Template = Template.UNSPECIFIED
    return_top_scored: int = 0  #: also return the best N scored candidates
    scorer: Scorer = Scorer.UNSPECIFIED

    def _to_proto(self) -> pb.NormalizeRequest:
        m = pb.NormalizeRequest(id=self.id, mention=self.mention, top_k=self.top_k,
                                template=int(self.template),
                                return_top_scored=self.return_top_scored,
                                scorer=int(self.scorer))
        if self.threshold is not None:
            m.threshold = self.threshold
        return m


@dataclass(frozen=True)
class CodedLLT:
    """The LLT a matched PT is coded with (ICH E2B(R3) E.i.2.1b)."""

    llt_code: str  #: empty when the dictionary has no code for it
    llt_name: str
    how: Union[LLTChoice, int] = LLTChoice.UNSPECIFIED


@dataclass(frozen=True)
class MatchedTerm:
    """A PT whose probability reached the threshold (or that the server's
    synonym list names: probability 1, ``retrieval_rank`` 0)."""

    term: PreferredTerm
    probability: float
    retrieval_rank: int  #: BM25 rank among the retrieved candidates, 1-based
    llt: Optional[CodedLLT] = None  #: the LLT to code this PT with
    source: Union[MatchSource, int] = MatchSource.UNSPECIFIED


@dataclass(frozen=True)
class ScoredCandidate:
    """One of the best scored candidates (``return_top_scored``)."""

    term: PreferredTerm
    probability: float
    bm25_score: float
    retrieval_rank: int


@dataclass(frozen=True)
class Timings:
    """Where the server spent its time on one mention, in milliseconds."""

    retrieval_ms: float = 0.0
    tokenization_ms: float = 0.0
    queue_wait_ms: float = 0.0
    inference_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True)
class ItemError:
    """Why one item of a :meth:`Client.normalize_stream` failed (the stream
    goes on)."""

    code: StatusCode
    message: str


@dataclass(frozen=True)
class Provenance:
    """What a result was produced with: enough to reproduce it. The version
    and the digests equal :meth:`Client.info`'s."""

    meddra_version: str = ""  #: empty when the server does not know it
    dictionary_digest: str = ""
    llt_digest: str = ""
    weights_sha256: str = ""  #: SHA-256 of model.safetensors; empty under the lexical scorer
    precision: str = ""  #: "fp32" or "int8"; empty under the lexical scorer
    scorer: Union[Scorer, int] = Scorer.UNSPECIFIED
    template: Union[Template, int] = Template.UNSPECIFIED
    mode: Union[RetrievalMode, int] = RetrievalMode.UNSPECIFIED
    top_k: int = 0
    threshold: float = 0.0
    review_margin: float = 0.0
    synonyms_digest: str = ""  #: SHA-256 of the server's synonym list; empty without one
    synonyms_folding: str = ""

    @classmethod
    def _from_proto(cls, m: pb.Provenance) -> "Provenance":
        return cls(m.meddra_version, m.dictionary_digest, m.llt_digest, m.weights_sha256, m.precision,
                   _enum(Scorer, m.scorer), _enum(Template, m.template), _enum(RetrievalMode, m.mode),
                   m.top_k, m.threshold, m.review_margin, m.synonyms_digest, m.synonyms_folding)


@dataclass(frozen=True)
class NormalizeResult:
    """The normalization of one mention: every PT with probability ≥
    ``threshold``, best first (possibly none). In a stream, a failed item has
    ``error`` set and nothing else but ``id``; check :attr:`ok`."""

    id: str
    matches: Tuple[MatchedTerm, ...] = ()
    top_scored: Tuple[ScoredCandidate, ...] = ()
    timings: Optional[Timings] = None
    scorer: Union[Scorer, int] = Scorer.UNSPECIFIED
    threshold: float = 0.0
    error: Optional[ItemError] = None
    cached: bool = False  #: the probabilities came from the server's cache
    #: the encoder arithmetic behind the probabilities ("fp32" or "int8";
    #: empty for the lexical scorer)
    precision: str = ""
    provenance: Optional[Provenance] = None
    #: a human coder should look at this result; ``review_reason`` says why
    needs_review: bool = False
    review_reason: Union[ReviewReason, int] = ReviewReason.UNSPECIFIED

    @property
    def ok(self) -> bool:
        """True unless this item failed."""
        return self.error is None

    @property
    def pt_codes(self) -> Tuple[str, ...]:
        """The matched PT codes, best first."""
        return tuple(m.term.pt_code for m in self.matches)

    @classmethod
    def _from_proto(cls, m: pb.NormalizeResponse) -> "NormalizeResult":
        if m.HasField("error"):
            return cls(m.id, error=ItemError(StatusCode.of(m.error.code), m.error.message))
        t = m.timings
        return cls(
            m.id,
            tuple(MatchedTerm(PreferredTerm._from_proto(x.term), x.probability, x.retrieval_rank,
                              CodedLLT(x.llt.llt_code, x.llt.llt_name, _enum(LLTChoice, x.llt.how))
                              if x.HasField("llt") else None,
                              _enum(MatchSource, x.source))
                  for x in m.matches),
            tuple(ScoredCandidate(PreferredTerm._from_proto(x.term), x.probability,
                                  x.bm25_score, x.retrieval_rank) for x in m.top_scored),
            Timings(t.retrieval_ms, t.tokenization_ms, t.queue_wait_ms, t.inference_ms,
                    t.total_ms) if m.HasField("timings") else None,
            _enum(Scorer, m.scorer), m.threshold, None, m.cached, m.precision,
            Provenance._from_proto(m.provenance) if m.HasField("provenance") else None,
            m.needs_review, _enum(ReviewReason, m.review_reason))


@dataclass(frozen=True)
class ModelInfo:
    """The cross-encoder the server runs."""

    name: str
    num_layers: int
    hidden_size: int
    max_length: int
    id2label: Dict[int, str] = field(default_factory=dict)
    match_label_id: int = 1
    weights_sha256: str = ""
    synthetic: bool = False  #: the demo model: not for clinical use
    precision: str = ""  #: the encoder arithmetic: "fp32" or "int8"


@dataclass(frozen=True)
class DictionaryInfo:
    """The dictionary the server loaded."""

    source: str
    version: str
    pt_count: int
    llt_count: int
    soc_count: int
    digest: str
    synthetic: bool = False  #: the demo dictionary: not MedDRA
    llt_digest: str = ""  #: SHA-256 of the LLT coding table
    llt_codes: bool = False  #: every LLT has a code (false for a CSV without llt_code)


@dataclass(frozen=True)
class Defaults:
    """The values a request gets for fields it leaves at zero."""

    top_k: int
    threshold: float
    template: Union[Template, int]
    scorer: Union[Scorer, int]
    max_mention_chars: int
    max_length: int
    #: Pairs one ``score`` may carry, and candidates one ``normalize`` may
    #: score (its top_k); more is INVALID_ARGUMENT. 0 from a server too old
    #: to say.
    max_pairs_per_request: int = 0
    #: Pairs waiting for or being scored across all calls (0: not reported).
    max_queued_pairs: int = 0
    #: Pairs one client identity may have admitted at once (0: not reported).
    max_queued_pairs_per_client: int = 0
    #: A result is flagged ``needs_review`` when a candidate's probability is
    #: within this of the threshold.
    review_margin: float = 0.0


@dataclass(frozen=True)
class CacheStats:
    """The server's result cache."""

    hits: int
    misses: int
    entries: int
    capacity: int


@dataclass(frozen=True)
class CodingStats:
    """The server's synonym list and coding counters."""

    synonym_hits: int = 0  #: normalizations answered from the synonym list
    needs_review: int = 0  #: normalizations flagged needs_review
    synonyms_source: str = ""  #: empty without a synonym list
    synonyms_digest: str = ""
    synonyms_folding: str = ""
    synonym_entries: int = 0


@dataclass(frozen=True)
class ConnectionLimits:
    """What one connection may make the server hold (docs/PROTOCOL.md §Limits)."""

    max_concurrent_streams: int = 0
    initial_stream_credit: int = 0
    max_metadata_entries: int = 0
    max_metadata_bytes: int = 0
    max_request_bytes_per_connection: int = 0
    max_request_bytes: int = 0
    max_queued_output_bytes_per_connection: int = 0
    max_queued_output_bytes: int = 0
    stream_idle_timeout_ms: int = 0  #: 0: never
    write_timeout_ms: int = 0  #: 0: never
    idle_timeout_ms: int = 0  #: 0: never


@dataclass(frozen=True)
class ServerInfo:
    """The answer of :meth:`Client.info`."""

    server_name: str
    server_version: str
    protocol_version: int
    model: ModelInfo
    dictionary: DictionaryInfo
    defaults: Defaults
    cache: CacheStats
    coding: CodingStats = field(default_factory=CodingStats)
    #: None from a server that does not report them.
    connection_limits: Optional[ConnectionLimits] = None

    @classmethod
    def _from_proto(cls, m: pb.InfoResponse) -> "ServerInfo":
        mo, d, df, c, cs = m.model, m.dictionary, m.defaults, m.cache, m.coding
        cl = m.connection_limits
        return cls(
            m.server_name, m.server_version, m.protocol_version,
            ModelInfo(mo.name, mo.num_layers, mo.hidden_size, mo.max_length,
                      dict(sorted(mo.id2label.items())), mo.match_label_id,
                      mo.weights_sha256, mo.synthetic, mo.precision),
            DictionaryInfo(d.source, d.version, d.pt_count, d.llt_count, d.soc_count,
                           d.digest, d.synthetic, d.llt_digest, d.llt_codes),
            Defaults(df.top_k, df.threshold, _enum(Template, df.template),
                     _enum(Scorer, df.scorer), df.max_mention_chars, df.max_length,
                     df.max_pairs_per_request, df.max_queued_pairs, df.max_queued_pairs_per_client,
                     df.review_margin),
            CacheStats(c.hits, c.misses, c.entries, c.capacity),
            CodingStats(cs.synonym_hits, cs.needs_review, cs.synonyms_source, cs.synonyms_digest,
                        cs.synonyms_folding, cs.synonym_entries),
            ConnectionLimits(
                cl.max_concurrent_streams, cl.initial_stream_credit, cl.max_metadata_entries,
                cl.max_metadata_bytes, cl.max_request_bytes_per_connection, cl.max_request_bytes,
                cl.max_queued_output_bytes_per_connection, cl.max_queued_output_bytes,
                cl.stream_idle_timeout_ms, cl.write_timeout_ms, cl.idle_timeout_ms,
            ) if m.HasField("connection_limits") else None)
