"""The soak behind Scripts/soak: one `adrnorm serve` on the SYNTHETIC demo
assets (not MedDRA), 4 clients doing mixed calls for a while, the server's
RSS and open descriptors sampled, and a verdict.

Each client (a thread with its own connection) picks, call after call:
Health, Info, Retrieve, Normalize, Score, a short NormalizeStream whose every
answer is checked (count, order, echoed id), a NormalizeStream abandoned after
a few answers (a Cancel), a Normalize whose deadline expires, and now and then
a new connection. Any other outcome (an unexpected status, a wrong answer, a
lost connection) is an error and is printed.

Goal: 0 errors; RSS at the end within 5% of RSS in the middle (both after the
warm-up, when the result cache and the allocator have reached their working
size); once the clients have left, as many open descriptors as before they
came.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Clients" / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from adrnorm_client import Client, DeadlineExceeded, HealthStatus, NormalizeRequest, RPCError, Scorer  # noqa: E402
from server_process import ServerProcess  # noqa: E402

CLIENTS = 4
GOAL_RSS_DRIFT = 0.05


def demo_vocabulary() -> tuple[List[str], List[str]]:
    """(mentions, PT codes) from the synthetic demo dictionary: its LLT names,
    plus each with a filler prefix, so some mentions are not exact aliases."""
    mentions, codes = [], []
    with open(ROOT / "Demo" / "dictionary" / "demo_dictionary.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            mentions.append(row["llt_name"])
            codes.append(row["pt_code"])
    mentions += ["吃完药后" + m for m in mentions[::4]]
    return mentions, sorted(set(codes))


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Dict[str, int] = {}
        self.errors: List[str] = []

    def ok(self, kind: str) -> None:
        with self.lock:
            self.calls[kind] = self.calls.get(kind, 0) + 1

    def error(self, who: str, kind: str, what: str) -> None:
        line = f"ERROR {who} {kind}: {what}"
        with self.lock:
            self.errors.append(line)
        print(line, flush=True)


class Worker(threading.Thread):
    def __init__(self, index: int, port: int, certs: Path, until: float, tally: Tally, seed: int) -> None:
        super().__init__(name=f"soak-client-{index}", daemon=True)
        self.index, self.port, self.certs, self.until, self.tally = index, port, certs, until, tally
        self.rng = random.Random(seed * 100 + index)
        self.mentions, self.codes = demo_vocabulary()
        self.streams = 0

    def connect(self) -> Client:
        cert = "client-a" if self.index % 2 == 0 else "client-b"
        return Client("127.0.0.1", self.port, ca=self.certs / "ca.pem", cert=self.certs / f"{cert}.pem",
                      key=self.certs / f"{cert}.key", timeout=60, client_name=f"soak-{self.index}",
                      server_hostname="localhost")

    def run(self) -> None:
        ops: List[tuple[str, int, Callable[[Client], None]]] = [
            ("health", 10, lambda c: self.expect(c.health() == HealthStatus.SERVING, "not SERVING")),
            ("info", 4, lambda c: self.expect(c.info().dictionary.synthetic, "dictionary not marked synthetic")),
            ("retrieve", 15, self.retrieve),
            ("normalize", 20, self.normalize),
            ("score", 10, self.score),
            ("stream", 12, self.stream),
            ("cancel", 5, self.cancel),
            ("deadline", 5, self.deadline),
            ("reconnect", 1, None),
        ]
        weights = [w for _, w, _ in ops]
        who = f"client {self.index}"
        client = self.connect_or_report(who)
        while time.monotonic() < self.until:
            if client is None:
                time.sleep(0.5)
                client = self.connect_or_report(who)
                continue
            kind, _, op = self.rng.choices(ops, weights)[0]
            if op is None:
                client.close()
                client = self.connect_or_report(who)
                if client is not None:
                    self.tally.ok(kind)
                continue
            try:
                op(client)
                self.tally.ok(kind)
            except AssertionError as e:
                self.tally.error(who, kind, str(e))
            except RPCError as e:
                self.tally.error(who, kind, f"{type(e).__name__}: {e}")
                if client.closed:
                    client = self.connect_or_report(who)
            except Exception as e:  # a lost connection, a bug in the client
                self.tally.error(who, kind, f"{type(e).__name__}: {e}")
                client.close()
                client = self.connect_or_report(who)
        if client is not None:
            client.close()

    def connect_or_report(self, who: str):
        try:
            return self.connect()
        except Exception as e:
            self.tally.error(who, "connect", f"{type(e).__name__}: {e}")
            return None

    @staticmethod
    def expect(ok: bool, what: str) -> None:
        if not ok:
            raise AssertionError(what)

    def mention(self) -> str:
        return self.rng.choice(self.mentions)

    def retrieve(self, c: Client) -> None:
        k = self.rng.choice([1, 10, 50, 0])
        got = c.retrieve(self.mention(), top_k=k).candidates
        ranks = [r.rank for r in got]
        self.expect(0 < len(got) <= (k or 100) and ranks == list(range(1, len(got) + 1)),
                    f"top_k {k}: {len(got)} candidates, ranks {ranks[:5]}…")

    def normalize(self, c: Client) -> None:
        scorer = self.rng.choice([Scorer.MODEL, Scorer.LEXICAL])
        got = c.normalize(self.mention(), id="n", top_k=self.rng.choice([10, 50]), return_top_scored=3,
                          scorer=scorer)
        self.expect(got.ok and got.id == "n" and len(got.top_scored) == 3, f"bad answer {got}")

    def score(self, c: Client) -> None:
        pairs = [(self.mention(), self.rng.choice(self.codes)) for _ in range(self.rng.randint(1, 16))]
        got = c.score(pairs)
        self.expect(len(got) == len(pairs) and all(0.0 <= s.prob_1 <= 1.0 for s in got), "bad scores")

    def stream(self, c: Client) -> None:
        self.streams += 1
        n = self.rng.randint(1, 300)
        ids = [f"{self.index}-{self.streams}-{i}" for i in range(n)]
        requests = [NormalizeRequest(mention=self.mention(), id=i, top_k=10, scorer=Scorer.LEXICAL) for i in ids]
        got = [r.id for r in c.normalize_stream(requests)]
        self.expect(got == ids, f"{n} items: {len(got)} answers, ids in order: {got == ids[:len(got)]}")

    def cancel(self, c: Client) -> None:
        # Take a few answers of a long stream, then abandon it: the client
        # sends Cancel and the server must stop the rest.
        requests = (NormalizeRequest(mention=self.mention(), id=str(i), top_k=50) for i in range(2_000))
        results = c.normalize_stream(requests, window=64)
        for i, r in enumerate(results):
            self.expect(r.id == str(i), f"answer {i} has id {r.id}")
            if i == 4:
                break
        results.close()

    def deadline(self, c: Client) -> None:
        # A deadline far too short for 100 model-scored candidates: either
        # DEADLINE_EXCEEDED (the usual case) or, rarely, an answer in time.
        try:
            c.normalize(self.mention(), top_k=100, scorer=Scorer.MODEL, timeout=0.001)
        except DeadlineExceeded:
            pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--adrnorm", required=True)
    p.add_argument("--certs", required=True, type=Path)
    p.add_argument("--log", required=True, type=Path)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("server_flags", nargs="*")
    a = p.parse_args()
    if a.minutes <= 0:
        p.error("--minutes must be more than 0")

    server = ServerProcess(a.adrnorm, a.certs, a.log, a.server_flags)
    print(f"adrnorm serve (pid {server.proc.pid}, port {server.port}) on the SYNTHETIC demo assets; "
          f"log {a.log}", flush=True)
    tally = Tally()
    seconds = a.minutes * 60
    t0 = time.monotonic()
    start_rss, start_fds = server.rss_kb(), server.fds()
    print(f"start:  {server.figure()} (before the clients)", flush=True)
    workers = [Worker(i, server.port, a.certs, t0 + seconds, tally, a.seed) for i in range(CLIENTS)]
    for w in workers:
        w.start()

    middle_at = t0 + seconds / 2
    next_sample = t0 + 30
    middle_rss = None
    while any(w.is_alive() for w in workers):
        time.sleep(1)
        now = time.monotonic()
        if not server.alive():
            tally.error("server", "process", f"adrnorm serve exited with {server.proc.returncode}")
            break
        if now >= next_sample:
            with tally.lock:
                calls = sum(tally.calls.values())
            print(f"{now - t0:6.0f} s: {server.figure()}, {calls} calls, {len(tally.errors)} errors", flush=True)
            next_sample += 30
        if middle_rss is None and now >= middle_at:
            middle_rss = server.rss_kb()
            print(f"middle: {server.figure()}", flush=True)
    for w in workers:
        w.join()
    end_rss = server.rss_kb() if server.alive() else 0
    print(f"end:    {server.figure() if server.alive() else 'server gone'} (clients closing)", flush=True)
    # Closed connections linger up to 2 s for the peer's FIN.
    time.sleep(3)
    after_fds = server.fds() if server.alive() else -1
    if server.alive():
        print(f"after:  {server.figure()} (3 s after the clients left)", flush=True)
    status = server.stop()
    if status != 0:
        tally.error("server", "exit", f"adrnorm serve exited with {status} after SIGTERM")

    with tally.lock:
        calls = dict(sorted(tally.calls.items()))
        errors = len(tally.errors)
    print(f"calls: {sum(calls.values())} ({', '.join(f'{k} {v}' for k, v in calls.items())}) "
          f"in {time.monotonic() - t0:.0f} s", flush=True)
    if middle_rss is None:
        middle_rss = end_rss
    drift = (end_rss - middle_rss) / middle_rss if middle_rss else 1.0
    checks = [
        (errors == 0, f"errors: {errors} (goal 0)"),
        (abs(drift) <= GOAL_RSS_DRIFT,
         f"RSS middle → end: {middle_rss / 1024:.1f} → {end_rss / 1024:.1f} MB ({drift:+.1%}, goal within "
         f"±{GOAL_RSS_DRIFT:.0%}); start {start_rss / 1024:.1f} MB"),
        (after_fds == start_fds, f"open fds: {start_fds} at start, {after_fds} after the clients left (goal equal)"),
    ]
    for ok, line in checks:
        print(f"{'PASS' if ok else 'FAIL'} {line}", flush=True)
    ok = all(ok for ok, _ in checks)
    print(f"soak: {'goal met' if ok else 'goal missed'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
