"""One real `govid up` stack for every end-to-end test of a pytest process.

The stack runs in a subprocess, exactly as `make run` starts it (registry, two
witnesses, the civil, medical and social issuers, the counter's verifier and
the demo wallet's web app), on a free block of loopback ports and in a
temporary data directory. It is started once per pytest process and stopped
with Ctrl-C (SIGINT) at the end, which must exit cleanly.

The e2e tests carry the xdist group "e2e" so that `--dist loadgroup` runs them
on one worker with one stack. With pytest 9.2 and pytest-xdist 3.8 the group is
silently ignored (pytest-dev/pytest-xdist#1386: xdist still rewrites the
legacy `_nodeid`); each worker that gets an e2e test then starts its own
stack. The tests share nothing but the stack, so both ways are correct.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.proofs import LedgerTrust
from registry.trust import trust_from_options
from tests.processes import GOVID

START_DEADLINE = 180.0  # seconds; the first run bootstraps the ledger and the agencies
STOP_DEADLINE = 60.0


@dataclass
class Stack:
    """A running `govid up` and what its `stack.json` says about it."""

    data: Path
    description: dict[str, Any]
    proc: subprocess.Popen[str]
    output: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    drain: threading.Thread | None = None

    # --- what stack.json names ---------------------------------------------------------

    @property
    def registry(self) -> str:
        return str(self.description["registry"])

    @property
    def verifier(self) -> str:
        return str(self.description["verifier"])

    @property
    def wallet(self) -> str:
        return str(self.description["wallet"])

    @property
    def counter_page(self) -> str:
        return str(self.description["pages"]["counter"])

    def issuer(self, slug: str) -> dict[str, str]:
        issuer: dict[str, str] = self.description["issuers"][slug]
        return issuer

    @property
    def counter_login(self) -> dict[str, str]:
        login: dict[str, str] = self.description["counter_login"]
        return login

    @property
    def counter_did(self) -> str:
        return str(self.description["counter"]["did"])

    # --- trust anchors, read from the stack's own files (as a wallet is configured) ----

    def ledger_trust(self) -> LedgerTrust:
        registry = json.loads((self.data / "registry" / "registry.json").read_text())
        vkey = (self.data / "registry" / "log.vkey").read_text(encoding="ascii").strip()
        return trust_from_options(
            self.registry,
            log_vkey=vkey,
            witness_vkeys=[w["vkey"] for w in registry["witnesses"]],
            quorum=registry["quorum"],
        )

    # --- OAuth client credentials --------------------------------------------------------

    def agency_token(self, slug: str) -> str:
        issuer = self.issuer(slug)
        response = httpx.post(
            issuer["url"] + "/token",
            data={"grant_type": "client_credentials"},
            auth=(issuer["client_id"], issuer["client_secret"]),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def counter_token(self) -> str:
        meta = httpx.get(self.verifier + "/.well-known/oauth-authorization-server", timeout=30)
        counter = self.description["counter"]
        response = httpx.post(
            meta.json()["token_endpoint"],
            data={"grant_type": "client_credentials"},
            auth=(counter["client_id"], counter["client_secret"]),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def log_tail(self) -> str:
        return "".join(self.output)


def _drain(stack: Stack) -> None:
    """Keep reading the stack's output: a full pipe would block its next log line."""
    assert stack.proc.stdout is not None
    for line in stack.proc.stdout:
        stack.output.append(line)


def _wait_healthy(urls: list[str]) -> None:
    deadline = time.monotonic() + 60
    pending = list(urls)
    while pending:
        url = pending[0]
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} does not answer")
        time.sleep(0.2)


def _start(data: Path) -> Stack:
    """Start `govid up` on ports it binds itself and wait for its stack description."""
    proc = subprocess.Popen(
        [*GOVID, "up", "--data", str(data), "--port-base", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    stack = Stack(data, {}, proc)
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=STOP_DEADLINE)
            raise AssertionError("govid up exited before it was up:\n" + stack.log_tail())
        stack.output.append(line)
        if "stack description" in line:
            stack.drain = threading.Thread(target=_drain, args=(stack,), daemon=True)
            stack.drain.start()
            stack.description = json.loads((data / "stack.json").read_text())
            return stack
    _stop(proc)
    raise AssertionError("govid up did not come up in time:\n" + stack.log_tail())


def _stop(proc: subprocess.Popen[str]) -> int:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.wait(timeout=STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_DEADLINE)
        raise AssertionError("govid up did not stop on Ctrl-C") from None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = _start(tmp_path_factory.mktemp("e2e") / "stack")
    try:
        _wait_healthy([started.registry + "/healthz", started.wallet + "/healthz"])
        yield started
    finally:
        code = _stop(started.proc)
        if started.drain is not None:
            started.drain.join(timeout=STOP_DEADLINE)
        if started.proc.stdout is not None:
            started.proc.stdout.close()
    assert code == 0, "Ctrl-C must stop the stack cleanly:\n" + started.log_tail()
