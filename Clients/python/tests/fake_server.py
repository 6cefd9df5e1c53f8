"""A fake adrnorm server for the client tests (and the benchmark's --fake).

It speaks the real protocol (TLS 1.3 with client certificates from the dev
CA, ALPN adrn/1, framing, Hello, credits, Ping/Pong, GoAway, Status) over the
client's own TLS/framing code, and answers from a small synthetic dictionary
with deterministic, character-overlap "scores". Test hooks: ``goaway()``,
``kill()``, ``terminate()`` (graceful: GoAway, close_notify), ``ping_clients()``, ``answer_pings``, and magic mentions
``__sleep_ms=N__`` (answer after N ms) and ``__close__`` (drop the connection).
"""

from __future__ import annotations

import functools
import math
import os
import queue
import re
import socket
import ssl
import threading
import time
from typing import Dict, List, Optional, Tuple

from adrnorm_client._proto.adrnorm.v1 import normalizer_pb2 as pb
from adrnorm_client._proto.adrnorm.wire.v1 import frame_pb2 as wire
from adrnorm_client._tls import ChannelClosed, TLSChannel
from adrnorm_client._wire import DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FramingError, encode_frame

_BASE_TERMS = [
    ("10013573", "头晕", ["眩晕感", "头昏"]), ("10028813", "恶心", ["想吐", "恶心感"]),
    ("10047700", "呕吐", ["吐了"]), ("10019211", "头痛", ["头疼"]),
    ("10041349", "嗜睡", ["犯困", "困倦"]), ("10037087", "瘙痒", ["皮肤痒"]),
    ("10040785", "皮疹", ["起疹子", "红疹"]), ("10012735", "腹泻", ["拉肚子"]),
    ("10016256", "乏力", ["没力气", "疲乏"]), ("10022437", "失眠", ["睡不着"]),
]
TERMS = _BASE_TERMS + [(str(10090000 + i), f"合成术语{i}", [f"别名{i}"]) for i in range(190)]
MAX_MENTION_CHARS = 512
_SLEEP = re.compile(r"__sleep_ms=(\d+)__")


def _term(i: int) -> pb.PreferredTerm:
    code, name, aliases = TERMS[i]
    return pb.PreferredTerm(pt_code=code, pt_name=name, llt_names=aliases, hlt_name="合成HLT",
                            hlgt_name="合成HLGT", soc_name="合成SOC", soc_code="10000000")


_CHARS = [set(name) | set("".join(aliases)) for _, name, aliases in TERMS]


def _overlap(mention: str, i: int) -> float:
    chars = _CHARS[i]
    return float(sum(1 for ch in mention if ch in chars))


@functools.lru_cache(maxsize=4096)
def _ranked(mention: str, top_k: int) -> List[Tuple[int, float]]:
    scores = [(i, _overlap(mention, i)) for i in range(len(TERMS))]
    scores.sort(key=lambda t: (-t[1], t[0]))
    return scores[:top_k]


def _prob(mention: str, i: int) -> float:
    name = TERMS[i][1]
    return min(1.0, _overlap(mention, i) / max(1, len(name)))


class _Invalid(Exception):
    pass


def _check_mention(m: str) -> None:
    if not m.strip():
        raise _Invalid("mention: empty after trimming whitespace")
    if len(m) > MAX_MENTION_CHARS:
        raise _Invalid(f"mention: {len(m)} characters, over the limit of {MAX_MENTION_CHARS}")


def _top_k(k: int) -> int:
    # As adrnorm serve: 0 is the default (100), anything above the
    # dictionary's PT count is capped to it.
    return min(100 if k == 0 else k, len(TERMS))


REVIEW_MARGIN = 0.1
_DICTIONARY_DIGEST, _LLT_DIGEST, _WEIGHTS = "0" * 64, "1" * 64, "2" * 64
_CODING = {"needs_review": 0}


def _llt(mention: str, i: int) -> pb.CodedLLT:
    # As adrnorm's rule, with fake LLT codes (PT code + "-" + alias number):
    # exact name, else the PT's own LLT (the fake has no "closest").
    code, name, aliases = TERMS[i]
    m = mention.strip()
    if m == name:
        return pb.CodedLLT(llt_code=code, llt_name=name, how=pb.LLT_CHOICE_EXACT)
    if m in aliases:
        return pb.CodedLLT(llt_code=f"{code}-{aliases.index(m) + 1}", llt_name=m, how=pb.LLT_CHOICE_EXACT)
    return pb.CodedLLT(llt_code=code, llt_name=name, how=pb.LLT_CHOICE_PT_LLT)


def normalize(req: pb.NormalizeRequest) -> pb.NormalizeResponse:
    _check_mention(req.mention)
    k = _top_k(req.top_k)
    threshold = req.threshold if req.HasField("threshold") else 0.3
    if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise _Invalid(f"threshold: {threshold} is outside [0, 1]")
    ranked = _ranked(req.mention, k)
    scored = [(i, _prob(req.mention, i), s, r) for r, (i, s) in enumerate(ranked, 1)]
    by_prob = sorted(scored, key=lambda t: (-t[1], t[3]))
    resp = pb.NormalizeResponse(id=req.id, scorer=pb.SCORER_MODEL, threshold=threshold)
    for i, p, s, r in by_prob:
        if p >= threshold:
            resp.matches.add(term=_term(i), probability=p, retrieval_rank=r, llt=_llt(req.mention, i),
                             source=pb.MATCH_SOURCE_MODEL)
    if not resp.matches:
        resp.review_reason = pb.REVIEW_REASON_NO_MATCH
    elif any(abs(p - threshold) <= REVIEW_MARGIN for _, p, _, _ in scored):
        resp.review_reason = pb.REVIEW_REASON_NEAR_THRESHOLD
    resp.needs_review = resp.review_reason != pb.REVIEW_REASON_UNSPECIFIED
    _CODING["needs_review"] += int(resp.needs_review)
    resp.provenance.CopyFrom(pb.Provenance(
        dictionary_digest=_DICTIONARY_DIGEST, llt_digest=_LLT_DIGEST, weights_sha256=_WEIGHTS, precision="fp32",
        scorer=pb.SCORER_MODEL, template=req.template or pb.TEMPLATE_FULL, mode=req.mode or pb.RETRIEVAL_MODE_BM25,
        top_k=k, threshold=threshold, review_margin=REVIEW_MARGIN))
    for i, p, s, r in by_prob[:req.return_top_scored]:
        resp.top_scored.add(term=_term(i), probability=p, bm25_score=s, retrieval_rank=r)
    resp.timings.total_ms = 0.01
    return resp


def retrieve(req: pb.RetrieveRequest) -> pb.RetrieveResponse:
    _check_mention(req.mention)
    if req.mode == pb.RETRIEVAL_MODE_EXACT:
        m = req.mention.strip()
        hits = [(i, 1.0 if m == t[1] or m in t[2] else 0.0) for i, t in enumerate(TERMS)]
        ranked = sorted(hits, key=lambda h: (-h[1], h[0]))[:_top_k(req.top_k)]
    else:
        ranked = _ranked(req.mention, _top_k(req.top_k))
    best = ranked[0][1] if ranked else 0.0
    resp = pb.RetrieveResponse(template=req.template or pb.TEMPLATE_FULL,
                               mode=req.mode or pb.RETRIEVAL_MODE_BM25)
    for r, (i, s) in enumerate(ranked, 1):
        resp.candidates.add(rank=r, term=_term(i), score=s, retrieval_prob=s / best if best else 0.0)
    return resp


def score(req: pb.ScoreRequest) -> pb.ScoreResponse:
    codes = {t[0]: i for i, t in enumerate(TERMS)}
    resp = pb.ScoreResponse()
    for n, pair in enumerate(req.pairs):
        _check_mention(pair.mention)
        if pair.WhichOneof("candidate") == "pt_code":
            if pair.pt_code not in codes:
                raise _Invalid(f"pairs[{n}].pt_code: unknown PT code {pair.pt_code!r}")
            text = "PT: " + TERMS[codes[pair.pt_code]][1]
        elif pair.WhichOneof("candidate") == "candidate_text":
            text = pair.candidate_text
        else:
            raise _Invalid(f"pairs[{n}]: give pt_code or candidate_text")
        overlap = sum(1 for ch in pair.mention if ch in text)
        l1 = overlap - 1.0
        p1 = 1.0 / (1.0 + math.exp(-l1))
        resp.scores.add(logit_0=0.0, logit_1=l1, prob_0=1.0 - p1, prob_1=p1, candidate_text=text)
    return resp


def info() -> pb.InfoResponse:
    return pb.InfoResponse(
        server_name="adrnorm-fake", server_version="0.0-test", protocol_version=1,
        model=pb.ModelInfo(name="fake-overlap", num_layers=0, hidden_size=0, max_length=64,
                           id2label={0: "not_match", 1: "match"}, match_label_id=1, synthetic=True,
                           weights_sha256=_WEIGHTS, precision="fp32"),
        dictionary=pb.DictionaryInfo(source="fake", pt_count=len(TERMS), llt_count=2 * len(TERMS),
                                     soc_count=1, digest=_DICTIONARY_DIGEST, synthetic=True,
                                     llt_digest=_LLT_DIGEST, llt_codes=True),
        defaults=pb.Defaults(top_k=100, threshold=0.3, template=pb.TEMPLATE_FULL, scorer=pb.SCORER_MODEL,
                             max_mention_chars=MAX_MENTION_CHARS, max_length=64, review_margin=REVIEW_MARGIN),
        cache=pb.CacheStats(capacity=0),
        coding=pb.CodingStats(needs_review=_CODING["needs_review"]),
        # adrnorm serve's defaults.
        connection_limits=pb.ConnectionLimits(
            max_concurrent_streams=64, initial_stream_credit=16, max_metadata_entries=64,
            max_metadata_bytes=16 << 10, max_request_bytes_per_connection=32 << 20,
            max_request_bytes=256 << 20, max_queued_output_bytes_per_connection=32 << 20,
            max_queued_output_bytes=512 << 20, stream_idle_timeout_ms=300_000,
            write_timeout_ms=60_000, idle_timeout_ms=300_000))


class _Stream:
    def __init__(self, sid: int, call: wire.Call) -> None:
        self.id = sid
        self.method = call.method
        self.deadline = time.monotonic() + call.timeout_ms / 1000 if call.timeout_ms else None
        self.inbox: "queue.Queue[Tuple[str, Optional[bytes]]]" = queue.Queue()
        self.received = 0  # Messages received (Call payload included)
        self.granted = 0  # credit granted beyond the initial credit
        self.cancelled = False
        self.dropped = False  # not processed (GoAway)


class _Connection:
    def __init__(self, server: "FakeServer", sock: socket.socket) -> None:
        self.server = server
        self.channel = TLSChannel(sock, server.context, server_side=True)
        self.streams: Dict[int, _Stream] = {}
        self.lock = threading.Lock()
        self.last_stream_id = 0
        self.goaway_sent: Optional[int] = None
        self.client_name: Optional[str] = None
        self.pongs: List[bytes] = []
        self.closed = False
        self.graceful = False  # kill() ends with close_notify and FIN (terminate())
        threading.Thread(target=self._run, daemon=True).start()

    def send(self, *frames: wire.Frame) -> None:
        try:
            self.channel.send(b"".join(encode_frame(f) for f in frames))
        except OSError:
            self.kill()

    def kill(self) -> None:
        self.closed = True
        if self.graceful:
            self.end_gracefully()
        else:
            self.channel.shutdown()

    def end_gracefully(self, *frames: wire.Frame) -> None:
        """``frames`` and TLS close_notify in one write, then FIN; the reader
        goes on until the client closes (as adrnorm serve's drain does)."""
        self.closed = True
        try:
            self.channel.close_gracefully(b"".join(encode_frame(f) for f in frames))
        except OSError:
            self.channel.shutdown()

    def _run(self) -> None:
        srv = self.server
        try:
            self.channel.handshake(time.monotonic() + 10)
        except (ssl.SSLError, ChannelClosed, OSError) as e:
            srv.handshake_failures.append(str(e))
            self.channel.close()
            return
        decoder = FrameDecoder(srv.max_frame_bytes)
        try:
            while not self.closed:
                data = self.channel.recv()
                if data:
                    for f in decoder.feed(data):
                        self._frame(f)
        except FramingError as e:
            self.send(wire.Frame(goaway=wire.GoAway(code=wire.INVALID_ARGUMENT, message=str(e))))
        except (ChannelClosed, ssl.SSLError, OSError):
            pass
        self.closed = True
        with self.lock:
            streams = list(self.streams.values())
        for s in streams:
            s.inbox.put(("cancel", None))
        self.channel.close()

    def _frame(self, f: wire.Frame) -> None:
        srv = self.server
        kind = f.WhichOneof("kind")
        if self.client_name is None:
            if kind != "hello":
                self.send(wire.Frame(goaway=wire.GoAway(code=wire.INVALID_ARGUMENT,
                                                        message="the first frame must be Hello")))
                self.kill()
                return
            self.client_name = f.hello.client_name
            srv.client_names.append(f.hello.client_name)
            if not srv.send_hello:
                return
            self.send(wire.Frame(hello=wire.Hello(
                protocol_version=srv.protocol_version, server_name="adrnorm-fake", max_frame_bytes=srv.max_frame_bytes,
                max_concurrent_streams=srv.max_concurrent_streams,
                initial_stream_credit=srv.initial_stream_credit)))
            return
        if f.stream_id == 0:
            if kind == "ping":
                srv.pings_received += 1
                if srv.answer_pings:
                    self.send(wire.Frame(pong=wire.Pong(payload=f.ping.payload)))
            elif kind == "pong":
                self.pongs.append(f.pong.payload)
            return
        if kind == "call":
            if f.stream_id <= self.last_stream_id:
                srv.protocol_errors.append(f"stream id {f.stream_id} after {self.last_stream_id}")
            self.last_stream_id = f.stream_id
            s = _Stream(f.stream_id, f.call)
            with self.lock:
                if self.goaway_sent is not None:
                    return  # above last_stream_id: not processed
                if len(self.streams) >= srv.max_concurrent_streams:
                    srv.protocol_errors.append(f"stream {f.stream_id} over max_concurrent_streams")
                    self.send(wire.Frame(stream_id=f.stream_id, status=wire.Status(
                        code=wire.RESOURCE_EXHAUSTED, message="too many concurrent streams")))
                    return
                self.streams[s.id] = s
                srv.max_open_streams = max(srv.max_open_streams, len(self.streams))
            srv.calls.append(f.call.method)
            srv.metadata.append(dict(f.call.metadata))
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()
            if f.call.HasField("payload"):
                self._message(s, f.call.payload)
            if f.call.half_close:
                s.inbox.put(("half_close", None))
            return
        with self.lock:
            s = self.streams.get(f.stream_id)
        if s is None:
            return
        if kind == "message":
            self._message(s, f.message.payload)
        elif kind == "half_close":
            s.inbox.put(("half_close", None))
        elif kind == "cancel":
            s.cancelled = True
            s.inbox.put(("cancel", None))

    def _message(self, s: _Stream, payload: bytes) -> None:
        s.received += 1
        outstanding = s.received - s.granted
        self.server.max_outstanding = max(self.server.max_outstanding, outstanding)
        if outstanding > self.server.initial_stream_credit:
            self.server.credit_violations += 1
        s.inbox.put(("message", payload))

    def _finish(self, s: _Stream, code: int, message: str = "", *frames: wire.Frame) -> None:
        with self.lock:
            self.streams.pop(s.id, None)
            close = self.goaway_sent is not None and not self.streams
        if self.closed:
            # Killed (or closed gracefully): a server that is gone sends nothing
            # more. Without this a stream that saw kill() begin could still send
            # CANCELLED before the socket went, which no real server does and
            # which ended a failover test once in a full run.
            return
        self.send(*frames, wire.Frame(stream_id=s.id, status=wire.Status(code=code, message=message)))
        if close:
            self.kill()

    def _sleep_for(self, mention: str, s: _Stream) -> bool:
        """Handles the magic mentions; False if the stream must stop."""
        m = _SLEEP.search(mention)
        if m:
            until = time.monotonic() + int(m.group(1)) / 1000
            while time.monotonic() < until and not s.cancelled and not self.closed:
                time.sleep(0.005)
        if "__close__" in mention:
            self.kill()
            return False
        return not s.cancelled and not self.closed

    def _serve(self, s: _Stream) -> None:
        unary = {"/adrnorm.v1.Normalizer/Normalize": (pb.NormalizeRequest, normalize),
                 "/adrnorm.v1.Normalizer/Retrieve": (pb.RetrieveRequest, retrieve),
                 "/adrnorm.v1.Normalizer/Score": (pb.ScoreRequest, score),
                 "/adrnorm.v1.Normalizer/Info": (pb.InfoRequest, lambda r: info()),
                 "/adrnorm.v1.Normalizer/Health": (pb.HealthRequest,
                                                    lambda r: pb.HealthResponse(status=pb.HealthResponse.SERVING))}
        if s.method == "/adrnorm.v1.Normalizer/NormalizeStream":
            return self._serve_stream(s)
        if s.method not in unary:
            return self._finish(s, wire.UNIMPLEMENTED, f"unknown method {s.method!r}")
        kind, payload = s.inbox.get()
        if kind != "message":
            return self._finish(s, wire.CANCELLED, "cancelled")
        req_type, handler = unary[s.method]
        req = req_type.FromString(payload)
        if not self._sleep_for(getattr(req, "mention", ""), s):
            return self._finish(s, wire.CANCELLED, "cancelled")
        if s.deadline is not None and time.monotonic() > s.deadline:
            return self._finish(s, wire.DEADLINE_EXCEEDED, "deadline exceeded")
        try:
            resp = handler(req)
        except _Invalid as e:
            return self._finish(s, wire.INVALID_ARGUMENT, str(e))
        self._finish(s, wire.OK, "", wire.Frame(stream_id=s.id, message=wire.Message(
            payload=resp.SerializeToString())))

    def _serve_stream(self, s: _Stream) -> None:
        srv = self.server
        batch_credit = max(1, srv.initial_stream_credit // 2)
        consumed_since_credit = 0
        while True:
            items = [s.inbox.get()]
            while len(items) < 512:
                try:
                    items.append(s.inbox.get_nowait())
                except queue.Empty:
                    break
            out: List[wire.Frame] = []
            for kind, payload in items:
                if kind == "cancel" or self.closed:
                    return self._finish(s, wire.CANCELLED, "cancelled by the client")
                if kind == "half_close":  # no more requests: credit is moot
                    return self._finish(s, wire.OK, "", *out)
                if s.deadline is not None and time.monotonic() > s.deadline:
                    return self._finish(s, wire.DEADLINE_EXCEEDED, "deadline exceeded", *out)
                req = pb.NormalizeRequest.FromString(payload)
                if srv.stream_item_delay:
                    time.sleep(srv.stream_item_delay)
                if not self._sleep_for(req.mention, s):
                    return self._finish(s, wire.CANCELLED, "cancelled")
                try:
                    resp = normalize(req)
                except _Invalid as e:
                    resp = pb.NormalizeResponse(id=req.id, error=pb.ItemError(
                        code=wire.INVALID_ARGUMENT, message=str(e)))
                out.append(wire.Frame(stream_id=s.id, message=wire.Message(payload=resp.SerializeToString())))
                consumed_since_credit += 1
                if consumed_since_credit >= batch_credit:
                    s.granted += consumed_since_credit
                    out.append(wire.Frame(stream_id=s.id, credit=wire.Credit(messages=consumed_since_credit)))
                    consumed_since_credit = 0
            if out:
                self.send(*out)


def server_tls_context(certs: str) -> ssl.SSLContext:
    """The test servers' TLS: 1.3, the dev server certificate, client
    certificates required against the dev CA, ALPN adrn/1."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(os.path.join(certs, "server.pem"), os.path.join(certs, "server.key"))
    ctx.load_verify_locations(os.path.join(certs, "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["adrn/1"])
    return ctx


class FakeServer:
    """A fake adrnorm server on 127.0.0.1 (an ephemeral port); see the module doc."""

    kind = "fake"
    host = "127.0.0.1"

    def __init__(self, certs: str, *, max_concurrent_streams: int = 64, initial_stream_credit: int = 32,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES, port: int = 0) -> None:
        ctx = server_tls_context(certs)
        self.context = ctx
        self.max_concurrent_streams = max_concurrent_streams
        self.initial_stream_credit = initial_stream_credit
        self.max_frame_bytes = max_frame_bytes
        self.answer_pings = True
        self.send_hello = True
        self.protocol_version = 1
        self.stream_item_delay = 0.0
        self.pings_received = 0
        self.credit_violations = 0
        self.max_outstanding = 0
        self.max_open_streams = 0
        self.calls: List[str] = []
        self.metadata: List[Dict[str, str]] = []
        self.client_names: List[str] = []
        self.protocol_errors: List[str] = []
        self.handshake_failures: List[str] = []
        self.connections: List[_Connection] = []
        self._listener = socket.create_server((self.host, port))
        self.port = self._listener.getsockname()[1]
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self._running:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections.append(_Connection(self, sock))

    def open_stream_ids(self) -> List[int]:
        ids: List[int] = []
        for c in self.connections:
            with c.lock:
                ids.extend(c.streams)
        return sorted(ids)

    def goaway(self, last_stream_id: Optional[int] = None, message: str = "server shutting down") -> None:
        """GoAway on every connection: streams above ``last_stream_id``
        (default: the highest opened) are dropped unprocessed; the connection
        closes once the rest finish."""
        for c in self.connections:
            with c.lock:
                last = c.last_stream_id if last_stream_id is None else last_stream_id
                c.goaway_sent = last
                for sid in [sid for sid in c.streams if sid > last]:
                    c.streams.pop(sid).cancelled = True
                close = not c.streams
            c.send(wire.Frame(goaway=wire.GoAway(last_stream_id=last, code=wire.UNAVAILABLE, message=message)))
            if close:
                c.kill()

    def ping_clients(self, payload: bytes = b"server-ping") -> None:
        for c in self.connections:
            c.send(wire.Frame(ping=wire.Ping(payload=payload)))

    def terminate(self, timeout: float = 10.0) -> None:
        """Stops gracefully, as ``adrnorm serve`` does on SIGTERM: no new
        connections; GoAway on every connection; the accepted calls finish;
        then TLS close_notify and FIN (with the GoAway in the same write on an
        idle connection). Waits up to ``timeout`` for the connections to end."""
        self._stop_listening()
        for c in self.connections:
            with c.lock:
                c.graceful = True
                c.goaway_sent = c.last_stream_id
                idle = not c.streams
            goaway = wire.Frame(goaway=wire.GoAway(last_stream_id=c.last_stream_id, code=wire.UNAVAILABLE,
                                                   message="server shutting down"))
            if idle:
                c.end_gracefully(goaway)
            else:
                c.send(goaway)  # the last stream's Status ends it (kill(), graceful)
        deadline = time.monotonic() + timeout
        while not all(c.closed for c in self.connections) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _stop_listening(self) -> None:
        self._running = False
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()

    def kill(self) -> None:
        """Stops at once: the listener and every connection are closed."""
        self._stop_listening()
        for c in self.connections:
            c.graceful = False
            c.kill()

    stop = kill


if __name__ == "__main__":
    # Stands in for `adrnorm serve` (same flags) to exercise the real-server
    # fixture: ADRNORM_REAL_SERVER=1 ADRNORM_BIN=tests/fake_server.py.
    import argparse
    import sys
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["serve"])
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key")
    p.add_argument("--client-ca")
    a = p.parse_args()
    srv = FakeServer(os.path.dirname(a.cert), port=int(a.listen.rpartition(":")[2]))
    print(f"fake adrnorm serve on {srv.host}:{srv.port}", file=sys.stderr)
    threading.Event().wait()
