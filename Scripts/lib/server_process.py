"""One `adrnorm serve` process for the scripts that load it (Scripts/soak,
Scripts/attack-memory): started on a free loopback port with the development
certificates, its log in a file, its RSS and open descriptors read from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import List


class ServerProcess:
    def __init__(self, adrnorm: str, certs: Path, log: Path, extra: List[str]) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log_path = log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [adrnorm, "serve", "--listen", f"127.0.0.1:{self.port}", "--cert", str(certs / "server.pem"),
             "--key", str(certs / "server.key"), "--client-ca", str(certs / "ca.pem"), *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"adrnorm serve exited with {self.proc.returncode}; see {log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"adrnorm serve did not listen within 60 s; see {log}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int:
        """VmRSS from /proc/PID/status."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise SystemExit("no VmRSS in /proc/PID/status")

    def fds(self) -> int:
        """Open descriptors (/proc/PID/fd)."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def figure(self) -> str:
        return f"RSS {self.rss_kb() / 1024:.1f} MB, {self.fds()} fds"

    def stop(self) -> int:
        """SIGTERM (a graceful drain), then the exit status."""
        self.proc.terminate()
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode
