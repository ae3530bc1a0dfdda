"""Real `govid` processes for tests: start, wait until healthy, kill -9, restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

GOVID = [sys.executable, "-m", "govid.cli"]


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
    """A `govid ... serve` process on a loopback port the test holds.

    The test binds the listening socket and hands it to each process it
    starts (`--fd`), so the port is known before the first start (URLs go into
    configuration), nobody can take it in between, and a server killed with
    -9 comes back on the same port while clients queue in the backlog.
    """

    def __init__(self, args: Sequence[str], *, log: Path, health: str = "/healthz") -> None:
        self.args = list(args)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        # Kept across stop() and kill9() for restarts; closed with the object.
        weakref.finalize(self, self.listener.close)
        self.port: int = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.health = health
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [*GOVID, *self.args, "--fd", str(self.listener.fileno())]

    def popen(self, out: IO[bytes], env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            self.command(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(self.listener.fileno(),),
            env=None if env is None else {**os.environ, **env},
        )

    def start(self, timeout: float = 60.0) -> Server:
        with self.log.open("ab") as out:
            self.popen(out)
        return self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 60.0) -> Server:
        assert self.proc is not None
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
