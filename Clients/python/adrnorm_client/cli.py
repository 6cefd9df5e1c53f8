"""Command line: ``python -m adrnorm_client {normalize,info,health} …``.

``normalize`` prints one JSON object per mention on stdout (JSON lines), in
input order; with ``--input FILE`` it shows a progress bar on stderr (when
stderr is a terminal, or with ``--progress``). Exit status: 0 when every
mention was normalized, 1 when some items failed (their lines carry
``error``), 2 when the call or the connection failed.
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
from .types import NormalizeRequest, NormalizeResult, Template

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


def _parse_line(line: str, line_no: int) -> Optional[Tuple[str, str]]:
    """(id, mention) from a plain-text line or a JSONL record with
    ``text_a``/``raw_term``/``mention`` and ``mention_id``/``id``."""
    text = line.rstrip("\r\n")
    if not text.strip():
        return None
    if text.lstrip().startswith("{"):
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {line_no}: not valid JSON ({e.msg})") from None
        for key in ("text_a", "raw_term", "mention"):
            if isinstance(rec.get(key), str):
                mid = rec.get("mention_id", rec.get("id", line_no))
                return str(mid), rec[key]
        raise ValueError(f"line {line_no}: a JSON record needs text_a, raw_term or mention")
    return str(line_no), text


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


def _file_mentions(path: str) -> Iterator[Tuple[str, str]]:
    seen = set()
    with (sys.stdin if path == "-" else open(path, encoding="utf-8-sig")) as f:
        for n, line in enumerate(f, 1):
            parsed = _parse_line(line, n)
            if parsed is None:
                continue
            if line.lstrip().startswith("{"):
                # Pair files repeat a mention once per candidate: keep the first.
                if parsed[0] in seen:
                    continue
                seen.add(parsed[0])
            yield parsed


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def _normalize(client: Client, args: argparse.Namespace) -> int:
    if args.input:
        source = _file_mentions(args.input)
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


def _result_json(r: NormalizeResult, mention: str) -> dict:
    d: Dict[str, Any] = {"schema": MENTION_RESULT_SCHEMA, "id": r.id, "mention": mention}
    if not r.ok:
        d["error"] = {"code": r.error.code.name, "message": r.error.message}  # type: ignore[union-attr]
        return d
    d["pt_codes"] = list(r.pt_codes)
    d["matches"] = [{"term": _term_json(m.term), "probability": m.probability,
                     "retrieval_rank": m.retrieval_rank} for m in r.matches]
    if r.top_scored:
        d["top_scored"] = [{"term": _term_json(c.term), "probability": c.probability,
                            "retrieval_rank": c.retrieval_rank, "bm25_score": c.bm25_score}
                           for c in r.top_scored]
    d["scorer"] = {1: "model", 2: "lexical"}.get(int(r.scorer), "")
    d["threshold"] = r.threshold
    d["precision"] = r.precision
    d["cached"] = r.cached
    if r.timings is not None:
        t = r.timings
        d["timings"] = {"retrieval_ms": t.retrieval_ms, "tokenization_ms": t.tokenization_ms,
                        "queue_wait_ms": t.queue_wait_ms, "inference_ms": t.inference_ms,
                        "total_ms": t.total_ms}
    return d


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", type=_server, required=True, metavar="HOST:PORT")
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
                     help="one mention per line, or JSONL with text_a/mention (+ mention_id); - is stdin")
    n.add_argument("--top-k", type=int, default=0, help="candidates scored (0: server default)")
    n.add_argument("--threshold", type=float, default=None, help="keep PTs with prob >= this")
    n.add_argument("--top-scored", type=int, default=0, help="also print the best N candidates")
    n.add_argument("--template", choices=[t.name for t in Template], default="UNSPECIFIED")
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
    host, port = args.server
    try:
        with Client(host, port, ca=args.ca, cert=args.cert, key=args.key,
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
