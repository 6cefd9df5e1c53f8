"""Fixtures: the tests run against the fake server (tests/fake_server.py), or,
with ADRNORM_REAL_SERVER=1, against ``.build/release/adrnorm serve`` (demo
assets, dev certificates) started here. Tests marked ``fake_only`` need hooks
only the fake has (forced GoAway, magic delays) and are skipped on the real one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_server import FakeServer  # noqa: E402

from adrnorm_client import Client  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
REAL = os.environ.get("ADRNORM_REAL_SERVER") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fake_only: needs the fake server's test hooks")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if REAL:
        skip = pytest.mark.skip(reason="needs the fake server's hooks (ADRNORM_REAL_SERVER=1)")
        for item in items:
            if "fake_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def certs() -> Path:
    out = Path(os.environ.get("ADRNORM_CERTS", ROOT / "Certs" / "out"))
    if not (out / "client-untrusted.pem").exists():
        subprocess.run([str(ROOT / "Certs" / "make-dev-certs"), str(out)], check=True)
    return out


class RealServer:
    """``adrnorm serve`` on a free local port, with the dev certificates."""

    kind = "real"
    host = "127.0.0.1"

    def __init__(self, certs: Path) -> None:
        binary = Path(os.environ.get("ADRNORM_BIN", ROOT / ".build" / "release" / "adrnorm"))
        if not binary.exists():
            pytest.fail(f"ADRNORM_REAL_SERVER=1 but {binary} does not exist: run Scripts/setup")
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port = s.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile(prefix="adrnorm-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--listen", f"{self.host}:{self.port}",
             "--cert", str(certs / "server.pem"), "--key", str(certs / "server.key"),
             "--client-ca", str(certs / "ca.pem")],
            cwd=str(ROOT), stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + float(os.environ.get("ADRNORM_SERVER_START_TIMEOUT", "120"))
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"adrnorm serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    pytest.fail(f"adrnorm serve did not listen on {self.port}:\n{self.log_tail()}")
                time.sleep(0.2)

    def log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> None:
        """The graceful stop (SIGTERM: GoAway, drain, close_notify); waits for the exit."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(45)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"adrnorm serve did not exit within 45 s of SIGTERM:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def _start(certs: Path, **fake_options):
    return RealServer(certs) if REAL else FakeServer(str(certs), **fake_options)


@pytest.fixture(scope="session")
def server(certs: Path) -> Iterator[object]:
    srv = _start(certs)
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(certs: Path) -> Iterator[object]:
    """A server of its own, for tests that kill it."""
    srv = _start(certs)
    yield srv
    srv.stop()


@pytest.fixture
def make_client(certs: Path):
    """make_client(server, name="client-a", **kwargs) -> Client, closed at teardown."""
    made = []

    def make(srv, name: Optional[str] = "client-a", **kwargs) -> Client:
        kwargs.setdefault("timeout", 60.0)
        c = Client(srv.host, srv.port, ca=certs / "ca.pem",
                   cert=certs / f"{name}.pem" if name else None,
                   key=certs / f"{name}.key" if name else None, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(server, make_client) -> Client:
    return make_client(server)
