"""Normalize a Spark DataFrame column with adrnorm servers (``pip install adrnorm-client[spark]``).

>>> from adrnorm_client.spark import normalize_dataframe
>>> out = normalize_dataframe(df, "mention", servers=["10.0.0.5:7443", "10.0.0.6:7443"],
...                           ca="ca.pem", cert="client.pem", key="client.key", top_k=20)

Each partition opens one :class:`~adrnorm_client.Client` (one connection per
server) and streams its rows through ``normalize_stream``: the rows are read
as the servers' credit allows, results come back in row order, and a server
that dies or drains mid-partition hands its unanswered rows to another one
(each row answered exactly once). The output has every input column, then
the result columns (:data:`RESULT_COLUMNS`). A row the server rejects (a blank
or too long mention), or whose text is null, keeps its place with
``error_code`` and ``error`` set and empty results: no row is ever dropped. A
partition whose stream fails as a whole (no server ready within the client's
``failover_timeout``) fails its Spark task, which Spark retries.

On a cluster the certificate files must be readable on every executor: give
paths that exist there, or ship the files with ``spark-submit --files
ca.pem,client.pem,client.key`` and pass their base names; a path that does
not exist on an executor is looked up with ``SparkFiles.get``.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

try:
    from pyspark import SparkFiles
    from pyspark.sql import DataFrame
    from pyspark.sql import types as T
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError("adrnorm_client.spark needs PySpark: pip install 'adrnorm-client[spark]' "
                      f"(or pip install pyspark) ({e})") from e

from .client import Client
from .types import NormalizeRequest, NormalizeResult, Scorer, Template

__all__ = ["normalize_dataframe", "RESULT_COLUMNS", "result_schema"]

#: The columns added after the input's, in order (with ``prefix`` before each name).
RESULT_COLUMNS: Tuple[Tuple[str, Any, str], ...] = (
    ("pt_codes", T.ArrayType(T.StringType(), False), "matched PT codes, best first"),
    ("pt_names", T.ArrayType(T.StringType(), False), "their names"),
    ("probabilities", T.ArrayType(T.DoubleType(), False), "their probabilities"),
    ("llt_codes", T.ArrayType(T.StringType(), False), "the LLT each PT is coded with (\"\" when unknown)"),
    ("llt_names", T.ArrayType(T.StringType(), False), "that LLT's name"),
    ("meddra_version", T.StringType(), "the dictionary's MedDRA version (\"\" when the server does not know it)"),
    ("needs_review", T.BooleanType(), "a human coder should look at this row"),
    ("review_reason", T.StringType(), "no_match, near_threshold, or \"\""),
    ("error_code", T.StringType(), "null, or the status code of a rejected row (INVALID_ARGUMENT, …)"),
    ("error", T.StringType(), "null, or why the row was rejected"),
)


def result_schema(prefix: str = "") -> T.StructType:
    """The schema of the result columns alone."""
    return T.StructType([T.StructField(prefix + name, typ, True) for name, typ, _ in RESULT_COLUMNS])


def _local_file(path: Optional[str]) -> Optional[str]:
    if path is None or os.path.exists(path):
        return path
    shipped = SparkFiles.get(os.path.basename(path))
    if os.path.exists(shipped):
        return shipped
    raise FileNotFoundError(f"{path}: not found on this executor, nor shipped with spark-submit --files "
                            f"(looked for {shipped})")


def _result_values(r: NormalizeResult) -> tuple:
    if not r.ok:
        return ([], [], [], [], [], "", False, "", r.error.code.name, r.error.message)  # type: ignore[union-attr]
    ms = r.matches
    reason = getattr(r.review_reason, "name", "")
    return ([m.term.pt_code for m in ms], [m.term.pt_name for m in ms], [float(m.probability) for m in ms],
            [m.llt.llt_code if m.llt else "" for m in ms], [m.llt.llt_name if m.llt else "" for m in ms],
            r.provenance.meddra_version if r.provenance else "", bool(r.needs_review),
            "" if reason == "UNSPECIFIED" else reason.lower(), None, None)


_NULL_TEXT = ([], [], [], [], [], "", False, "", "INVALID_ARGUMENT", "the text column is null")


def _normalize_partition(rows: Iterable[Any], *, text_index: int, id_index: Optional[int],
                         client_args: Dict[str, Any], stream_args: Dict[str, Any]) -> Iterator[tuple]:
    rows = iter(rows)
    # The rows in flight, in input order; a null text is answered here.
    waiting: "deque[Tuple[tuple, bool]]" = deque()

    def requests() -> Iterator[NormalizeRequest]:
        for i, row in enumerate(rows):
            values = tuple(row)
            text = values[text_index]
            waiting.append((values, text is None))
            if text is None:
                continue
            rid = str(values[id_index]) if id_index is not None else str(i)
            yield NormalizeRequest(text, rid, **stream_args["fields"])

    args = dict(client_args)
    for k in ("ca", "cert", "key"):
        args[k] = _local_file(args[k])
    servers = args.pop("servers")
    with Client(servers, **args) as client:
        for result in client.normalize_stream(requests(), window=stream_args["window"],
                                              timeout=stream_args["timeout"]):
            while waiting[0][1]:
                yield waiting.popleft()[0] + _NULL_TEXT
            values, _ = waiting.popleft()
            yield values + _result_values(result)
    while waiting:  # null texts after the last mention sent
        yield waiting.popleft()[0] + _NULL_TEXT


def normalize_dataframe(df: DataFrame, text_col: str, *, servers: Union[str, Sequence[str]], ca: str,
                        cert: Optional[str], key: Optional[str], top_k: int = 0,
                        threshold: Optional[float] = None, template: Template = Template.UNSPECIFIED,
                        scorer: Scorer = Scorer.UNSPECIFIED, id_col: Optional[str] = None,
                        prefix: str = "", timeout: Optional[float] = None, window: int = 1024,
                        client_options: Optional[Dict[str, Any]] = None) -> DataFrame:
    """``df`` with the normalization of its string column ``text_col``
    appended (:data:`RESULT_COLUMNS`, each name after ``prefix``), one output
    row per input row, in each partition's order. Lazy, like any
    transformation: the servers are called when an action runs.

    ``servers``: ``"host:port"`` or a list of them (replicas, or a load
    balancer). ``ca``, ``cert``, ``key``: PEM files, see the module doc for a
    cluster. ``top_k``, ``threshold``, ``template``, ``scorer``: as for
    :meth:`Client.normalize` (0 / None: the server's defaults). ``id_col``: a
    column whose values are sent as the request ids (the servers log them;
    default: the row's index in its partition). ``timeout``: seconds for one
    partition's whole stream (None: none). ``client_options``: more keyword
    arguments for each partition's :class:`~adrnorm_client.Client`
    (``failover_timeout``, ``backoff_max``, ``metadata``, …)."""
    fields = {f.name: f for f in df.schema.fields}
    if text_col not in fields:
        raise ValueError(f"normalize_dataframe: no column {text_col!r} (columns: {', '.join(fields)})")
    if not isinstance(fields[text_col].dataType, T.StringType):
        raise ValueError(f"normalize_dataframe: column {text_col!r} is {fields[text_col].dataType.simpleString()}, "
                         f"not a string")
    if id_col is not None and id_col not in fields:
        raise ValueError(f"normalize_dataframe: no column {id_col!r} for id_col")
    added = result_schema(prefix)
    clash = [f.name for f in added.fields if f.name in fields]
    if clash:
        raise ValueError(f"normalize_dataframe: the input already has column(s) {', '.join(clash)}; "
                         f"pass prefix= (e.g. prefix=\"adrnorm_\")")
    names = list(fields)
    client_args: Dict[str, Any] = dict(client_options or {})
    client_args.setdefault("client_name", "adrnorm-client-spark")
    client_args.update(servers=servers if isinstance(servers, str) else list(servers), ca=ca, cert=cert, key=key)
    Client._check_servers(client_args["servers"])  # a bad address fails here, not in every task
    stream_args = {"fields": dict(top_k=top_k, threshold=threshold, template=template, scorer=scorer),
                   "window": window, "timeout": timeout}
    text_index = names.index(text_col)
    id_index = names.index(id_col) if id_col is not None else None

    def run(rows: Iterable[Any]) -> Iterator[tuple]:
        return _normalize_partition(rows, text_index=text_index, id_index=id_index, client_args=client_args,
                                    stream_args=stream_args)

    schema = T.StructType(list(df.schema.fields) + list(added.fields))
    return df.sparkSession.createDataFrame(df.rdd.mapPartitions(run), schema, verifySchema=False)
