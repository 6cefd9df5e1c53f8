"""Figures for several servers behind one Python client (prints them; not a test).

Starts two ``adrnorm serve`` replicas on loopback with the SYNTHETIC demo
model (result cache off, so that every mention is scored), then prints:

1. items/s of one client running ``--streams`` parallel streams over one
   replica, then over both (on a 2-core machine the replicas share the CPU:
   the figure is reported as it is);
2. the time to detect a dead server and resume a stream: SIGKILL of the
   replica under a stream (the kernel resets the connection), and SIGSTOP
   (a hung host: only the keepalive Ping notices, after
   ``--keepalive-interval`` + ``--keepalive-timeout``), each from the signal to
   the client marking the server down and to the next result;
3. the client's own CPU time per item (its process time over the runs of 1).

Run it through ``Scripts/bench-multi-server``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[2]
CERTS = ROOT / "Certs" / "out"
MENTIONS = ["吃完药后一直犯困头晕", "恶心想吐", "头疼得厉害", "皮肤痒起红疹", "拉肚子三天", "睡不着觉",
            "浑身没力气", "头晕恶心", "吐了两次", "犯困", "胃不舒服", "心慌胸闷", "口干", "视物模糊",
            "手脚发麻", "食欲下降", "便秘", "咳嗽加重", "呼吸困难", "全身起风团"]


class Replica:
    def __init__(self, binary: Path, tmp: Path, name: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.log = open(tmp / f"{name}.log", "wb")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--listen", self.address, "--cache-size", "0",
             "--cert", str(CERTS / "server.pem"), "--key", str(CERTS / "server.key"),
             "--client-ca", str(CERTS / "ca.pem")],
            cwd=str(ROOT), stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"replica {name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"replica {name} did not listen; see {self.log.name}")
                time.sleep(0.1)

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)


def mentions(n: int, offset: int = 0) -> List[str]:
    return [f"{MENTIONS[(i + offset) % len(MENTIONS)]}" for i in range(n)]


def throughput(client, n: int, streams: int, top_k: int) -> dict:
    """``streams`` threads, each streaming n/streams mentions through ``client``."""
    per = max(1, n // streams)
    counts = [0] * streams
    errors: List[BaseException] = []

    def run(k: int) -> None:
        try:
            for r in client.normalize_stream(mentions(per, k), top_k=top_k):
                counts[k] += 1
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(streams)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if errors:
        raise errors[0]
    total = sum(counts)
    return {"items": total, "seconds": round(wall, 3), "items_per_s": round(total / wall, 2),
            "client_cpu_us_per_item": round(cpu / total * 1e6, 1)}


def failover(client, replicas, sig: int, n: int, top_k: int) -> dict:
    """Streams n mentions; after n/4 results, sends ``sig`` to the replica under
    the stream. Returns the seconds from the signal to the client marking that
    server down, and to the next result (the stream resumed elsewhere)."""
    by_address = {r.address: r for r in replicas}
    sent_at = None
    victim = None
    resumed = detected = None
    got = 0
    for r in client.normalize_stream(mentions(n), top_k=top_k):
        got += 1
        if sent_at is not None and resumed is None:
            resumed = time.monotonic() - sent_at
        if got == n // 4:
            busy = [s.address for s in client.servers if s.outstanding_pairs > 0]
            victim = by_address[busy[0]]

            def watch() -> None:
                nonlocal detected
                while detected is None:
                    st = {s.address: s.state for s in client.servers}[victim.address]
                    if st not in ("ready",):
                        detected = time.monotonic() - sent_at
                    time.sleep(0.001)

            sent_at = time.monotonic()
            victim.signal(sig)
            threading.Thread(target=watch, daemon=True).start()
    assert got == n, (got, n)
    deadline = time.monotonic() + 5
    while detected is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"detect_s": None if detected is None else round(detected, 3),
            "resume_s": None if resumed is None else round(resumed, 3), "items": got}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=400, help="mentions per throughput run (default 400)")
    p.add_argument("--streams", type=int, default=2, help="parallel streams of the one client (default 2)")
    p.add_argument("--top-k", type=int, default=20)
    p.add_argument("--keepalive-interval", type=float, default=1.0,
                   help="the client's keepalive for the SIGSTOP figure (default 1 s)")
    p.add_argument("--keepalive-timeout", type=float, default=1.0)
    args = p.parse_args()

    from adrnorm_client import Client

    binary = Path(os.environ.get("ADRNORM_BIN", ROOT / ".build" / "release" / "adrnorm"))
    tls = dict(ca=str(CERTS / "ca.pem"), cert=str(CERTS / "client-a.pem"), key=str(CERTS / "client-a.key"))
    out = {"model": "demo (SYNTHETIC, not for clinical use)", "top_k": args.top_k, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        reps = [Replica(binary, Path(tmp), f"replica{i}") for i in (1, 2)]
        try:
            with Client(reps[0].address, **tls, client_name="bench-multi-server") as c:
                for _ in c.normalize_stream(mentions(40), top_k=args.top_k):
                    pass  # warm-up
                out["one_replica"] = throughput(c, args.n, args.streams, args.top_k)
            with Client([r.address for r in reps], **tls, client_name="bench-multi-server") as c:
                for _ in c.normalize_stream(mentions(40), top_k=args.top_k):
                    pass
                out["two_replicas"] = throughput(c, args.n, args.streams, args.top_k)
            fail_n = max(80, args.n // 4)
            with Client([r.address for r in reps], **tls, client_name="bench-multi-server",
                        backoff_initial=0.05, backoff_max=0.5) as c:
                out["sigkill"] = failover(c, reps, signal.SIGKILL, fail_n, args.top_k)
            reps[0].stop()
            reps[1].stop()
            reps = [Replica(binary, Path(tmp), f"replica{i}") for i in (3, 4)]
            with Client([r.address for r in reps], **tls, client_name="bench-multi-server",
                        keepalive_interval=args.keepalive_interval, keepalive_timeout=args.keepalive_timeout,
                        backoff_initial=0.05, backoff_max=0.5) as c:
                out["sigstop"] = failover(c, reps, signal.SIGSTOP, fail_n, args.top_k)
        finally:
            for r in reps:
                r.stop()
    one, two = out["one_replica"], out["two_replicas"]
    print(f"demo model (SYNTHETIC), top_k {args.top_k}, {args.streams} streams of one client, "
          f"{os.cpu_count()} CPUs (the replicas share them):")
    print(f"  one replica : {one['items_per_s']:8.2f} items/s  client CPU {one['client_cpu_us_per_item']:.0f} us/item")
    print(f"  two replicas: {two['items_per_s']:8.2f} items/s  client CPU {two['client_cpu_us_per_item']:.0f} us/item"
          f"  ({two['items_per_s'] / one['items_per_s']:.2f}x)")
    for k, what in (("sigkill", "SIGKILL (connection reset)"),
                    ("sigstop", f"SIGSTOP (silent; keepalive {args.keepalive_interval:g}+{args.keepalive_timeout:g} s)")):
        f = out[k]
        print(f"  {what}: server marked down after {f['detect_s']} s, stream resumed after {f['resume_s']} s "
              f"({f['items']} items, each once)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
