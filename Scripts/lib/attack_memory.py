"""Memory a hostile peer leaves behind in `adrnorm serve` (issue 16, item 8).

Starts one server on the SYNTHETIC demo assets (not MedDRA) with the
development certificates, runs each attack against it over loopback and prints
the server's RSS (VmRSS from /proc/PID/status) and open descriptors before the
attack, right after it, and once the attacker has left:

  resets   N connections that ask for large answers and reset (RST) the
           connection while the server writes them
  cancels  N streams opened and cancelled at once on one connection
           (figures at 1,000 and at every tenfold after)
  fuzz     the committed fuzz corpus (Fuzz/corpus) replayed as raw bytes, one
           connection per input, plus seeded mutations of it, N cases in all

Run by Scripts/attack-memory, which builds and passes the paths; not a test.
"""

from __future__ import annotations

import argparse
import random
import socket
import ssl
import struct
import sys
import time
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Clients" / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from adrnorm_client._proto.adrnorm.v1 import normalizer_pb2 as pb  # noqa: E402
from adrnorm_client._proto.adrnorm.wire.v1 import frame_pb2 as wire  # noqa: E402
from adrnorm_client import Client  # noqa: E402
from adrnorm_client._wire import FrameDecoder  # noqa: E402
from server_process import ServerProcess as Server  # noqa: E402

SERVICE = "/adrnorm.v1.Normalizer/"
# The request type of each service message in the order of the fuzz target's
# selector byte (Fuzz/Sources/FuzzChecks/MessageChecks.swift): responses are
# sent to the method whose request they are not, which is the point.
MESSAGE_METHODS = ["Retrieve", "Retrieve", "Score", "Score", "Normalize", "Normalize", "Info", "Info",
                   "Health", "Health"]


def frame(**kind) -> bytes:
    body = wire.Frame(**kind).SerializeToString()
    return struct.pack(">I", len(body)) + body


HELLO = frame(hello=wire.Hello(protocol_version=1, client_name="attack-memory"))


class Attacker:
    def __init__(self, certs: Path, port: int) -> None:
        self.port = port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.context.set_alpn_protocols(["adrn/1"])
        self.context.load_verify_locations(cafile=str(certs / "ca.pem"))
        self.context.load_cert_chain(str(certs / "client-a.pem"), str(certs / "client-a.key"))

    def connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        tls = self.context.wrap_socket(raw, server_hostname="127.0.0.1")
        tls.sendall(HELLO)
        return tls

    @staticmethod
    def reset(tls: ssl.SSLSocket) -> None:
        """Closes with RST (SO_LINGER 0), no close_notify."""
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tls.close()


def warm_up(certs: Path, port: int) -> None:
    """One call of each method with an ordinary client, so the baseline
    includes what serving costs once (the model's buffers, the threads)."""
    with Client("127.0.0.1", port, ca=certs / "ca.pem", cert=certs / "client-a.pem", key=certs / "client-a.key",
                server_hostname="localhost") as c:
        c.health()
        c.info()
        c.retrieve("头痛恶心")
        c.normalize("头痛恶心", return_top_scored=5)
        c.score([("头痛恶心", "94000001")])
        list(c.normalize_stream(["头痛", "恶心"]))


def settle(server: Server, seconds: float) -> None:
    # Closing connections linger up to 2 s for the peer's FIN.
    time.sleep(seconds)


def attack_resets(server: Server, attacker: Attacker, count: int) -> None:
    # The default top_k (every demo PT a candidate), so each answer is tens
    # of KiB the server is still writing when the reset arrives.
    retrieve = pb.RetrieveRequest(mention="头痛恶心").SerializeToString()
    normalize = pb.NormalizeRequest(mention="头痛恶心", return_top_scored=100, scorer=pb.SCORER_LEXICAL)
    calls = b"".join(
        frame(stream_id=2 * i + 1, call=wire.Call(method=SERVICE + "Retrieve", timeout_ms=30_000,
                                                  payload=retrieve, half_close=True))
        + frame(stream_id=2 * i + 2, call=wire.Call(method=SERVICE + "Normalize", timeout_ms=30_000,
                                                    payload=normalize.SerializeToString(), half_close=True))
        for i in range(16))
    for i in range(count):
        tls = attacker.connect()
        tls.sendall(calls)
        time.sleep(0.002)  # let the answers start
        attacker.reset(tls)


def attack_cancels(server: Server, attacker: Attacker, count: int) -> None:
    tls = attacker.connect()
    health = pb.HealthRequest().SerializeToString()
    tls.setblocking(False)
    report_at = 1_000
    sent = 0
    batch = 500
    while sent < count:
        n = min(batch, count - sent)
        chunk = b"".join(
            frame(stream_id=sid, call=wire.Call(method=SERVICE + "Health", timeout_ms=0xFFFFFFFF, payload=health))
            + frame(stream_id=sid, cancel=wire.Cancel(reason="attack"))
            for sid in range(sent + 1, sent + n + 1))
        view = memoryview(chunk)
        while view:
            try:
                k = tls.send(view)
                view = view[k:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                pass
            # Read (and drop) the answers so the server's output never backs up.
            try:
                while True:
                    data = tls.recv(1 << 16)
                    if not data:
                        raise SystemExit("the server closed the cancel connection")
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                pass
        sent += n
        if sent >= report_at:
            wait_for_pong(tls, sent)
            print(f"  after {sent:>9,} open+Cancel streams: {server.figure()}", flush=True)
            report_at *= 10
    wait_for_pong(tls, sent)
    tls.close()


def wait_for_pong(tls: ssl.SSLSocket, token: int) -> None:
    """Pings, then reads (dropping the answers) until the Pong: the server has
    handled everything sent before the Ping by then."""
    payload = struct.pack(">Q", token)
    tls.setblocking(True)
    tls.sendall(frame(ping=wire.Ping(payload=payload)))
    decoder = FrameDecoder(64 * 1024 * 1024)
    while True:
        data = tls.recv(1 << 16)
        if not data:
            raise SystemExit("the server closed the cancel connection")
        for f in decoder.feed(data):
            if f.WhichOneof("kind") == "goaway":
                raise SystemExit(f"the server sent GoAway: {f.goaway}")
            if f.WhichOneof("kind") == "pong" and f.pong.payload == payload:
                tls.setblocking(False)
                return


def fuzz_cases(count: int, seed: int) -> List[bytes]:
    """Byte streams after Hello: the frames corpus (its split header dropped),
    the messages corpus as Call payloads, then seeded mutations of both."""
    corpus = ROOT / "Fuzz" / "corpus"
    base: List[bytes] = []
    for path in sorted((corpus / "frames").iterdir()):
        data = path.read_bytes()
        if not data:
            continue
        n = data[0] & 0x0F
        base.append(data[1 + n:])
    for i, path in enumerate(sorted((corpus / "messages").iterdir())):
        data = path.read_bytes()
        if not data:
            continue
        method = MESSAGE_METHODS[data[0] % len(MESSAGE_METHODS)]
        base.append(frame(stream_id=1, call=wire.Call(method=SERVICE + method, timeout_ms=5_000,
                                                      payload=data[1:], half_close=True)))
    rng = random.Random(seed)
    cases = list(base)
    while len(cases) < count:
        data = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 8)):
            if not data:
                break
            op = rng.randrange(4)
            at = rng.randrange(len(data))
            if op == 0:
                data[at] ^= 1 << rng.randrange(8)
            elif op == 1:
                data[at] = rng.randrange(256)
            elif op == 2:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            else:
                del data[at:at + rng.randint(1, 16)]
        # Some cases repeat their input many times (a stream of calls).
        if rng.random() < 0.2:
            data = data * rng.randint(2, 64)
        cases.append(bytes(data))
    return cases[:count]


def attack_fuzz(server: Server, attacker: Attacker, count: int, seed: int) -> None:
    for data in fuzz_cases(count, seed):
        try:
            tls = attacker.connect()
            tls.sendall(data)
            tls.settimeout(0.2)
            try:
                while tls.recv(1 << 16):
                    pass
            except (socket.timeout, ssl.SSLError, OSError):
                pass
            tls.close()
        except (ssl.SSLError, OSError):
            pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--adrnorm", required=True)
    p.add_argument("--certs", required=True, type=Path)
    p.add_argument("--log", required=True, type=Path)
    p.add_argument("--attack", choices=["resets", "cancels", "fuzz"], action="append")
    p.add_argument("--resets", type=int, default=1_000)
    p.add_argument("--cancels", type=int, default=100_000)
    p.add_argument("--fuzz-cases", type=int, default=300)
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--rounds", type=int, default=1, help="run each attack this many times on one server")
    p.add_argument("--settle", type=float, default=3.0, help="seconds to wait after the attacker left")
    p.add_argument("server_flags", nargs="*", help="extra adrnorm serve flags (after --)")
    a = p.parse_args()
    attacks = a.attack or ["resets", "cancels", "fuzz"]
    status = 0
    for attack in attacks:
        # A fresh server per attack: each figure starts from the same baseline.
        server = Server(a.adrnorm, a.certs, a.log.with_name(f"{a.log.stem}-{attack}{a.log.suffix}"), a.server_flags)
        try:
            attacker = Attacker(a.certs, server.port)
            warm_up(a.certs, server.port)
            settle(server, a.settle)
            before_kb = server.rss_kb()
            before_fds = server.fds()
            print(f"{attack}: before (after one call of each method): {server.figure()}", flush=True)
            for round in range(1, a.rounds + 1):
                start = time.monotonic()
                if attack == "resets":
                    attack_resets(server, attacker, a.resets)
                    label = f"{a.resets:,} reset connections"
                elif attack == "cancels":
                    attack_cancels(server, attacker, a.cancels)
                    label = f"{a.cancels:,} open+Cancel streams"
                else:
                    attack_fuzz(server, attacker, a.fuzz_cases, a.seed + round)
                    label = f"{a.fuzz_cases:,} fuzz cases"
                tag = f"{attack} round {round}" if a.rounds > 1 else attack
                print(f"{tag}: after {label} ({time.monotonic() - start:.1f} s): {server.figure()}", flush=True)
                settle(server, a.settle)
                after_kb = server.rss_kb()
                print(f"{tag}: {a.settle:g} s after the attacker left: {server.figure()} "
                      f"(RSS {after_kb / before_kb:.2f}x before, fds {server.fds() - before_fds:+d})", flush=True)
            if server.proc.poll() is not None:
                print(f"{attack}: the server died ({server.proc.returncode})", flush=True)
                status = 1
        finally:
            server.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
