"""Real `govid` processes for tests: start, wait until healthy, kill -9, restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

GOVID = [sys.executable, "-m", "govid.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def govid(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run one `govid` command to completion."""
    result = subprocess.run(
        [*GOVID, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"govid {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


class Server:
    """A `govid ... serve` process on a loopback port."""

    def __init__(self, args: Sequence[str], *, log: Path, health: str = "/healthz") -> None:
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.health = health
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Server:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*GOVID, *self.args, "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log.read_text(errors='replace')}")
            try:
                if httpx.get(self.url + self.health, timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not healthy in time:\n{self.log.read_text(errors='replace')}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


def wait_for_checkpoint(url: str, size: int, timeout: float = 30.0) -> str:
    """Poll the registry until its served checkpoint covers `size` entries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(url + "/checkpoint", timeout=2.0)
        if response.status_code == 200:
            lines = response.text.split("\n")
            if int(lines[1]) >= size:
                return response.text
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint of size {size} in time")


def free_port_block(count: int) -> int:
    """A base port such that `count` consecutive ports are free, below the ephemeral range."""
    import random

    for _ in range(200):
        base = random.randint(20000, 30000 - count)
        try:
            socks = []
            for port in range(base, base + count):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return base
    raise RuntimeError("no block of free ports")
