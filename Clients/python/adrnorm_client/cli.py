"""Command line: ``python -m adrnorm_client {normalize,info,health} …``.

``normalize`` prints one JSON object per mention on stdout (JSON lines), in
input order; with ``--input FILE`` it shows a progress bar on stderr (when
stderr is a terminal, or with ``--progress``). A line of ``--input`` that
cannot be read (not decodable in ``--input-encoding``, not valid JSON, a field
of the wrong type) stops the run there, naming the file, line and field, or
with ``--on-error skip`` is reported on stderr and skipped. A mention the
server refuses, or one too large to send, is a result with ``error`` and the
run goes on. Exit status: 0 when every mention was normalized (lines skipped
under ``--on-error skip`` are reported but do not fail the run), 1 when some
mentions failed (their lines carry ``error``) or every line was skipped, 2
when the run stopped early: a bad input line under ``--on-error stop``, or a
failed call or connection.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import sys
import time
from typing import Any, Dict, Iterator, List, Optional, TextIO, Tuple

from .client import Client
from .errors import ClientConfigError, RPCError
from .types import NormalizeRequest, NormalizeResult, Template, _lower

_PROG = "python -m adrnorm_client"


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _server(text: str) -> Tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"--server wants HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


class InputLineError(ValueError):
    """A line of ``--input`` that cannot become a request; names the file,
    the line and, where one is at fault, the field."""

    def __init__(self, path: str, line: int, problem: str, field: Optional[str] = None) -> None:
        self.path, self.line, self.field = path, line, field
        where = f"{path}:{line}: " + (f"field {json.dumps(field)}: " if field else "")
        super().__init__(where + problem)


#: ``--input-encoding`` names and the Python codec each reads with (GBK is a
#: subset of GB18030, so a GBK file reads as GB18030).
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gb18030": "gb18030", "gbk": "gb18030"}
_TEXT_FIELDS = ("text_a", "raw_term", "mention")
_ID_FIELDS = ("mention_id", "id")


def _decode(raw: bytes, encoding: str, path: str, line_no: int) -> str:
    codec = _ENCODINGS[encoding]
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as e:
        bad = raw[e.start:e.start + 4].hex(" ")
        problem = f"not valid {'UTF-8' if codec == 'utf-8' else 'GB18030'} (bytes {bad} at byte {e.start + 1} of the line)"
        if codec == "utf-8":
            problem += "; a GBK or GB18030 file? pass --input-encoding gb18030"
        raise InputLineError(path, line_no, problem) from None


def _encoding(text: str) -> str:
    name = text.lower()
    if name not in _ENCODINGS:
        raise argparse.ArgumentTypeError(f"--input-encoding wants utf-8 or gb18030 (or gbk), got {text!r}")
    return name


def _parse_line(text: str, line_no: int, path: str) -> Optional[Tuple[str, str]]:
    """(id, mention) from a plain-text line or a JSONL record with
    ``text_a``/``raw_term``/``mention`` and ``mention_id``/``id`` (a string
    or an integer; the line number when absent)."""
    if not text.strip():
        return None
    if not text.lstrip().startswith("{"):
        return str(line_no), text
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputLineError(path, line_no, f"not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(rec, dict):
        raise InputLineError(path, line_no, "a JSON line must be an object")
    key = next((k for k in _TEXT_FIELDS if k in rec), None)
    if key is None:
        raise InputLineError(path, line_no, "a JSON record needs the mention in "
                             + ", ".join(f'"{k}"' for k in _TEXT_FIELDS[:-1]) + f' or "{_TEXT_FIELDS[-1]}"')
    if not isinstance(rec[key], str):
        raise InputLineError(path, line_no, f"must be a string, not {_json_type(rec[key])}", key)
    mid: Any = line_no
    for id_key in _ID_FIELDS:
        if id_key in rec:
            mid = rec[id_key]
            if isinstance(mid, bool) or not isinstance(mid, (str, int)):
                raise InputLineError(path, line_no, f"must be a string or an integer, not {_json_type(mid)}",
                                     id_key)
            break
    return str(mid), rec[key]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object",
            str: "a string"}.get(type(value), type(value).__name__)


class _Progress:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.out = total, out
        self.start = self.last = time.monotonic()
        self.done = 0

    def update(self, done: int, final: bool = False) -> None:
        self.done = done
        if final:
            self.total = done  # the line count was an estimate (repeated pair lines)
        now = time.monotonic()
        if not final and now - self.last < 0.1:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        frac = done / self.total if self.total else 1.0
        bar = "#" * int(frac * 30)
        eta = (self.total - done) / rate if rate > 0 else 0.0
        self.out.write(f"\r{frac * 100:5.1f}% |{bar:<30}| {done}/{self.total} mentions "
                       f"{rate:,.0f}/s ETA {eta:4.0f}s")
        if final:
            self.out.write("\n")
        self.out.flush()


class _FileMentions:
    """The mentions of ``--input``, read lazily. Pair files repeat a mention
    once per candidate: a repeated id is read once. A bad line raises
    :class:`InputLineError` (``on_error="stop"``: reading ends there and
    ``stopped`` keeps it) or is reported on ``report`` and counted in
    ``skipped`` (``"skip"``)."""

    def __init__(self, path: str, encoding: str, on_error: str, report: TextIO) -> None:
        self.path, self.encoding, self.on_error, self.report = path, encoding, on_error, report
        self.skipped: List[InputLineError] = []
        self.stopped: Optional[InputLineError] = None
        self.read = 0

    def _lines(self) -> Iterator[Tuple[int, bytes]]:
        f = sys.stdin.buffer if self.path == "-" else open(self.path, "rb")
        try:
            for n, raw in enumerate(f, 1):
                if n == 1 and raw.startswith(b"\xef\xbb\xbf") and _ENCODINGS[self.encoding] == "utf-8":
                    raw = raw[3:]
                yield n, raw.rstrip(b"\r\n")
        finally:
            if f is not sys.stdin.buffer:
                f.close()

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        seen = set()
        for n, raw in self._lines():
            try:
                text = _decode(raw, self.encoding, self.path, n)
                parsed = _parse_line(text, n, self.path)
            except InputLineError as e:
                if self.on_error == "stop":
                    self.stopped = e
                    return
                self.skipped.append(e)
                self.report.write(f"{_PROG}: skipped {e}\n")
                self.report.flush()
                continue
            if parsed is None:
                continue
            if text.lstrip().startswith("{"):
                if parsed[0] in seen:
                    continue
                seen.add(parsed[0])
            self.read += 1
            yield parsed


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def _normalize(client: Client, args: argparse.Namespace) -> int:
    file: Optional[_FileMentions] = None
    if args.input:
        file = _FileMentions(args.input, args.input_encoding, args.on_error, sys.stderr)
        source: Iterator[Tuple[str, str]] = iter(file)
        show = args.progress if args.progress is not None else (sys.stderr.isatty() and args.input != "-")
        progress = _Progress(_count_lines(args.input), sys.stderr) if show and args.input != "-" else None
    else:
        source = iter([(str(i), t) for i, t in enumerate(args.text, 1)])
        progress = None
    from collections import deque
    pending: "deque[str]" = deque()

    def requests() -> Iterator[NormalizeRequest]:
        for mid, text in source:
            pending.append(text)
            yield NormalizeRequest(text, mid, args.top_k, args.threshold, Template[args.template],
                                   args.top_scored)

    failed = done = 0
    out = sys.stdout
    for result in client.normalize_stream(requests(), timeout=args.timeout):
        mention = pending.popleft()
        out.write(json.dumps(_result_json(result, mention), ensure_ascii=False) + "\n")
        done += 1
        failed += not result.ok
        if progress:
            progress.update(done)
    out.flush()
    if progress:
        progress.update(done, final=True)
    if file is not None and file.stopped is not None:
        print(f"{_PROG}: {file.stopped}", file=sys.stderr)
        print(f"{_PROG}: stopped at line {file.stopped.line} after {done} mention(s) (--on-error stop); "
              f"fix the line, or pass --on-error skip to skip bad lines", file=sys.stderr)
        return 2
    skipped = len(file.skipped) if file is not None else 0
    if skipped:
        print(f"{_PROG}: {skipped} line(s) of {args.input} skipped (--on-error skip)", file=sys.stderr)
        if done == 0:
            # Skipping must not turn a run that produced nothing into success.
            print(f"{_PROG}: nothing was normalized: every mention line of {args.input} was skipped "
                  f"(first: {file.skipped[0]})", file=sys.stderr)  # type: ignore[union-attr]
            return 1
    if failed:
        print(f"{_PROG}: {failed} of {done} mentions failed (see their \"error\")", file=sys.stderr)
        return 1
    return 0


#: The mention-result schema shared with ``adrnorm normalize --emit mentions``
#: and ``adrnorm call normalize`` (docs/PIPELINE.md §Mention results).
MENTION_RESULT_SCHEMA = "adrnorm.mention_result/1"


def _term_json(t: Any) -> Dict[str, Any]:
    return {"pt_code": t.pt_code, "pt_name": t.pt_name, "llt_names": list(t.llt_names),
            "hlt_name": t.hlt_name, "hlgt_name": t.hlgt_name, "soc_name": t.soc_name,
            "soc_code": t.soc_code}


def _match_json(m: Any) -> Dict[str, Any]:
    d: Dict[str, Any] = {"term": _term_json(m.term), "probability": m.probability,
                         "retrieval_rank": m.retrieval_rank}
    if m.llt is not None:
        d["llt"] = {"llt_code": m.llt.llt_code, "llt_name": m.llt.llt_name, "how": _lower(m.llt.how)}
    d["source"] = _lower(m.source)
    return d


def _result_json(r: NormalizeResult, mention: str) -> dict:
    d: Dict[str, Any] = {"schema": MENTION_RESULT_SCHEMA, "id": r.id, "mention": mention}
    if not r.ok:
        d["error"] = {"code": r.error.code.name, "message": r.error.message}  # type: ignore[union-attr]
        return d
    d["pt_codes"] = list(r.pt_codes)
    d["matches"] = [_match_json(m) for m in r.matches]
    if r.top_scored:
        d["top_scored"] = [{"term": _term_json(c.term), "probability": c.probability,
                            "retrieval_rank": c.retrieval_rank, "bm25_score": c.bm25_score}
                           for c in r.top_scored]
    d["scorer"] = {1: "model", 2: "lexical"}.get(int(r.scorer), "")
    d["threshold"] = r.threshold
    d["precision"] = r.precision
    d["cached"] = r.cached
    d["needs_review"] = r.needs_review
    d["review_reason"] = _lower(r.review_reason)
    if r.provenance is not None:
        p = r.provenance
        d["provenance"] = {
            "meddra_version": p.meddra_version, "dictionary_digest": p.dictionary_digest,
            "llt_digest": p.llt_digest, "weights_sha256": p.weights_sha256, "precision": p.precision,
            "scorer": _lower(p.scorer), "template": _lower(p.template),
            "mode": "exact" if int(p.mode) == 2 else "bm25", "top_k": p.top_k,
            "threshold": p.threshold, "review_margin": p.review_margin,
            "synonyms_digest": p.synonyms_digest, "synonyms_folding": p.synonyms_folding}
    if r.timings is not None:
        t = r.timings
        d["timings"] = {"retrieval_ms": t.retrieval_ms, "tokenization_ms": t.tokenization_ms,
                        "queue_wait_ms": t.queue_wait_ms, "inference_ms": t.inference_ms,
                        "total_ms": t.total_ms}
    return d


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", type=_server, required=True, action="append", metavar="HOST:PORT",
                        help="a server; repeat it for replicas (calls go to the least-loaded, "
                             "a stream moves when its server dies or drains)")
    common.add_argument("--ca", required=True, help="CA file that signed the server certificate")
    common.add_argument("--cert", required=True, help="this client's certificate (PEM)")
    common.add_argument("--key", required=True, help="this client's private key (PEM)")
    common.add_argument("--timeout", type=float, default=None,
                        help="seconds for the whole call (default: none)")
    p = argparse.ArgumentParser(prog=_PROG, description="Call an adrnorm server.")
    sub = p.add_subparsers(dest="command", required=True)
    n = sub.add_parser("normalize", parents=[common],
                       help="normalize mentions to MedDRA PTs (JSON lines on stdout)")
    src = n.add_mutually_exclusive_group(required=True)
    src.add_argument("text", nargs="*", default=[], metavar="TEXT")
    src.add_argument("--input", metavar="FILE",
                     help="one mention per line, or JSONL with text_a/raw_term/mention (+ mention_id); - is stdin")
    n.add_argument("--top-k", type=int, default=0, help="candidates scored (0: server default)")
    n.add_argument("--threshold", type=float, default=None, help="keep PTs with prob >= this")
    n.add_argument("--top-scored", type=int, default=0, help="also print the best N candidates")
    n.add_argument("--template", choices=[t.name for t in Template], default="UNSPECIFIED")
    n.add_argument("--on-error", choices=["stop", "skip"], default="stop",
                   help="a line of --input that cannot be read (not decodable, not valid JSON, a field of the "
                        "wrong type): stop there (exit 2) or skip it, reported on stderr (default: stop)")
    n.add_argument("--input-encoding", type=_encoding, default="utf-8", metavar="{utf-8,gb18030}",
                   help="encoding of --input: utf-8 (default; a BOM is dropped) or gb18030 (gbk is read as "
                        "gb18030, its superset)")
    n.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr for --input (default: when stderr is a terminal)")
    sub.add_parser("info", parents=[common], help="print the server's Info as JSON")
    sub.add_parser("health", parents=[common], help="print SERVING / NOT_SERVING")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "normalize" and not args.text and not args.input:
        print(f"{_PROG} normalize: give TEXT… or --input FILE", file=sys.stderr)
        return 2
    if args.command == "normalize" and args.input and args.input != "-":
        try:
            with open(args.input, "rb"):
                pass
        except OSError as e:
            print(f"{_PROG}: {args.input}: cannot open ({e.strerror or e})", file=sys.stderr)
            return 2
    try:
        with Client(args.server, ca=args.ca, cert=args.cert, key=args.key,
                    client_name="adrnorm-client-cli") as client:
            if args.command == "normalize":
                return _normalize(client, args)
            if args.command == "info":
                print(json.dumps(_jsonable(client.info(timeout=args.timeout)), ensure_ascii=False, indent=2))
                return 0
            status = client.health(timeout=args.timeout)
            print(status.name)
            return 0 if status.name == "SERVING" else 1
    except (RPCError, ConnectionError, ClientConfigError, ValueError, OSError) as e:
        print(f"{_PROG}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
