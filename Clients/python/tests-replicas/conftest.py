"""Fixtures for the failover tests: real ``adrnorm serve`` replicas on
loopback (lexical scorer, ``--no-model``, so that 20,000 mentions take
seconds), HAProxy in front of them (Deploy/haproxy/adrnorm.cfg, as shipped),
and a local Spark session. Scripts/test-python-client runs this folder with
ADRNORM_REAL_SERVER=1, after installing pyspark and Debian's haproxy.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[3]
CERTS = Path(os.environ.get("ADRNORM_CERTS", ROOT / "Certs" / "out"))
BINARY = Path(os.environ.get("ADRNORM_BIN", ROOT / ".build" / "release" / "adrnorm"))
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: Optional[subprocess.Popen], what: str, log: Path, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while True:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not listen on {port}:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)


class Replica:
    """One ``adrnorm serve --no-model`` on a fixed loopback port: start,
    SIGKILL, SIGTERM (drain) and start again on the same port."""

    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self.port = free_port()
        self.address = f"{HOST}:{self.port}"
        self.log = tmp / f"{name}.log"
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BINARY), "serve", "--no-model", "--listen", self.address,
                 "--cert", str(CERTS / "server.pem"), "--key", str(CERTS / "server.key"),
                 "--client-ca", str(CERTS / "ca.pem"), "--drain-timeout", "20"],
                cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_listening(self.port, self.proc, f"replica {self.name}", self.log)

    def kill(self) -> None:
        """SIGKILL: no GoAway, no close_notify; the kernel resets its connections."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def drain(self) -> None:
        """SIGTERM: GoAway to every connection, in-flight calls finish, exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, limit: float = 40) -> int:
        assert self.proc is not None
        return self.proc.wait(limit)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator:
    if not BINARY.exists():
        pytest.fail(f"{BINARY} does not exist: run Scripts/setup")
    made: List[Replica] = []

    def make(n: int = 2) -> List[Replica]:
        new = [Replica(f"replica{len(made) + i + 1}", tmp_path) for i in range(n)]
        made.extend(new)
        return new

    yield make
    for r in made:
        r.stop()


class Balancer:
    """HAProxy with Deploy/haproxy/adrnorm.cfg in front of two replicas."""

    def __init__(self, replicas: List[Replica], tmp: Path) -> None:
        exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.path.exists(exe):
            pytest.fail("haproxy is not installed (Scripts/test-python-client installs Debian's)")
        self.port = free_port()
        self.address = f"{HOST}:{self.port}"
        self.log = tmp / "haproxy.log"
        env = dict(os.environ, ADRNORM_LB_BIND=self.address, ADRNORM_REPLICA_1=replicas[0].address,
                   ADRNORM_REPLICA_2=replicas[1].address)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([exe, "-db", "-f", str(ROOT / "Deploy" / "haproxy" / "adrnorm.cfg")],
                                         env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_listening(self.port, self.proc, "haproxy", self.log, limit=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator:
    made: List[Balancer] = []

    def make(reps: List[Replica]) -> Balancer:
        b = Balancer(reps, tmp_path)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture
def tls() -> Dict[str, str]:
    return dict(ca=str(CERTS / "ca.pem"), cert=str(CERTS / "client-a.pem"), key=str(CERTS / "client-a.key"))


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[2]").appName("adrnorm-client-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def run_when(condition, action, limit: float = 120.0) -> threading.Thread:
    """Runs ``action`` on a thread once ``condition()`` holds (polled)."""
    def loop() -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if condition():
                action()
                return
            time.sleep(0.01)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t
