"""Streaming throughput of the Python client (prints figures; not a test).

Streams N mentions through ``Client.normalize_stream`` and prints mentions/s,
plus the client's own CPU time per mention (its ceiling: the rate at which
the client alone would saturate one core). Run it through
``Scripts/bench-python-client``, against the demo server (``Scripts/demo``)
by default, or ``--fake`` for the fake test server in another process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CERTS = ROOT / "Certs" / "out"
MENTIONS = ["吃完药后一直犯困头晕", "恶心想吐", "头疼得厉害", "皮肤痒起红疹", "拉肚子三天", "睡不着觉",
            "浑身没力气", "头晕恶心", "吐了两次", "犯困", "胃不舒服", "心慌胸闷", "口干", "视物模糊",
            "手脚发麻", "食欲下降", "便秘", "咳嗽加重", "呼吸困难", "全身起风团"]


def _fake_server(certs: str, conn) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
    from fake_server import FakeServer
    srv = FakeServer(certs)
    conn.send(srv.port)
    threading.Event().wait()


def _mentions(args: argparse.Namespace):
    if args.input:
        with open(args.input, encoding="utf-8-sig") as f:
            pool = [line.strip() for line in f if line.strip()]
    else:
        pool = MENTIONS
    for i in range(args.n):
        yield pool[i % len(pool)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="127.0.0.1:7443", metavar="HOST:PORT")
    p.add_argument("--ca", default=str(DEFAULT_CERTS / "ca.pem"))
    p.add_argument("--cert", default=str(DEFAULT_CERTS / "client-a.pem"))
    p.add_argument("--key", default=str(DEFAULT_CERTS / "client-a.key"))
    p.add_argument("-n", type=int, default=20000, help="mentions to stream (default 20000)")
    p.add_argument("--input", help="mentions, one per line, cycled to N (default: a built-in list of 20)")
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--window", type=int, default=2048, help="results in flight (normalize_stream window)")
    p.add_argument("--warmup", type=int, default=200, help="mentions streamed first, not timed")
    p.add_argument("--fake", action="store_true", help="start the fake test server in another process")
    args = p.parse_args()

    from adrnorm_client import Client

    if args.fake:
        parent, child = multiprocessing.Pipe()
        proc = multiprocessing.Process(target=_fake_server, args=(os.path.dirname(args.ca), child), daemon=True)
        proc.start()
        host, port = "127.0.0.1", parent.recv()
    else:
        host, _, port_s = args.server.rpartition(":")
        port = int(port_s)
    with Client(host, port, ca=args.ca, cert=args.cert, key=args.key, client_name="bench-python-client") as c:
        if args.warmup:
            for _ in c.normalize_stream(MENTIONS * (args.warmup // len(MENTIONS) + 1), top_k=args.top_k):
                pass
        failed = count = 0
        cpu0, t0 = time.process_time(), time.perf_counter()
        for r in c.normalize_stream(_mentions(args), top_k=args.top_k, window=args.window):
            count += 1
            failed += not r.ok
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rate = count / wall
    print(f"python client: {count} mentions in {wall:.2f}s = {rate:,.0f} mentions/s "
          f"({failed} item errors); client CPU {cpu / count * 1e6:.1f} us/mention "
          f"(client-only ceiling ~{count / cpu:,.0f} mentions/s per core)"
          f"{' [fake server]' if args.fake else ''}")
    print(json.dumps({"client": "python", "mentions": count, "seconds": round(wall, 4),
                      "mentions_per_s": round(rate, 1), "client_cpu_us_per_mention": round(cpu / count * 1e6, 2),
                      "item_errors": failed, "server": "fake" if args.fake else f"{host}:{port}"}))
    return 0 if count == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
