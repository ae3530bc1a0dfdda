"""`govid up` (what `make run` runs): every printed URL answers; a second run reuses the data."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import GOVID, free_port_block

pytestmark = pytest.mark.slow


def _start(data: Path, port_base: int) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [*GOVID, "up", "--data", str(data), "--port-base", str(port_base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "stack description" in line:
            # Keep reading: a full pipe would block the stack's next log line.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, lines
    proc.kill()
    raise AssertionError("govid up did not print its URLs:\n" + "".join(lines))


def _stop(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        assert proc.wait(timeout=30) == 0, "Ctrl-C must stop the stack cleanly"
    finally:
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_ok(url: str, *, answers: tuple[int, ...] = (200,)) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(url, timeout=5.0, follow_redirects=True)
            if response.status_code in answers:
                return response
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} does not answer")
        time.sleep(0.1)


def test_up_serves_every_printed_url_and_reuses_its_data(tmp_path: Path) -> None:
    data = tmp_path / ".govid-data"  # where `make run` keeps it, relative to the cwd
    port_base = free_port_block(8)
    proc, lines = _start(data, port_base)
    try:
        urls = re.findall(r"http://127\.0\.0\.1:\d+[^\s)]*", "".join(lines))
        assert len(urls) >= 16
        for url in urls:
            # Agency pages ask for the agency's credentials: 401 is an answer.
            _wait_ok(url, answers=(200, 401) if url.endswith("/agency") else (200,))
        stack = json.loads((data / "stack.json").read_text())
        assert (data / "stack.json").stat().st_mode & 0o077 == 0, "it holds client secrets"
        assert stack["registry"] == f"http://127.0.0.1:{port_base}"
        assert len(stack["witnesses"]) == 2
        assert set(stack["issuers"]) == {"civil", "medical", "social"}
        for issuer in stack["issuers"].values():
            assert {"url", "client_id", "client_secret"} <= set(issuer)
        assert {"client_id", "client_secret"} <= set(stack["counter"])
        root = _wait_ok(stack["registry"] + "/checkpoint").text
        assert root.count("\u2014 ") == 3  # the log and both witnesses signed

        # The civil agency's systems can create an offer straight away.
        civil = stack["issuers"]["civil"]
        token = httpx.post(
            civil["url"] + "/token",
            data={"grant_type": "client_credentials"},
            auth=(civil["client_id"], civil["client_secret"]),
        ).json()["access_token"]
        offer = httpx.post(
            civil["url"] + "/api/offers",
            headers={"authorization": f"Bearer {token}"},
            json={
                "credential_configuration_id": "civil_identity",
                "claims": {
                    "personal_id": "ID-1",
                    "given_name": "Ana",
                    "family_name": "Silva",
                    "birthdate": "1990-01-02",
                    "nationality": "PT",
                },
            },
            timeout=30,
        )
        assert offer.status_code == 201, offer.text

        # Batch import, as the issue names it: the agency and a CSV, nothing else
        # (the stack's issuer directory and its development KEK are found).
        rows = tmp_path / "citizens.csv"
        rows.write_text(
            "personal_id,given_name,family_name,birthdate,nationality\n"
            "ID-10,Ana,Silva,1990-01-02,PT\n"
            "bad id!,Rui,Costa,1991-02-03,PT\n",
            encoding="utf-8",
        )
        imported = subprocess.run(
            [*GOVID, "issuer", "import", "--agency", "civil", str(rows)],
            cwd=data.parent,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert imported.returncode == 0, imported.stderr
        result = rows.with_suffix(".result.csv").read_text(encoding="utf-8")
        assert "openid-credential-offer://" in result and "issuer.claims_invalid" in result
    finally:
        _stop(proc)
    first_root = json.loads((data / "registry" / "registry.json").read_text())["rootDid"]

    proc, _ = _start(data, port_base)
    try:
        _wait_ok(f"http://127.0.0.1:{port_base}/healthz")
        again = json.loads((data / "registry" / "registry.json").read_text())["rootDid"]
        assert again == first_root
    finally:
        _stop(proc)


def test_demo_completes_against_the_running_stack(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    proc, _ = _start(data, free_port_block(8))
    try:
        demo = subprocess.run(
            [*GOVID, "demo", "--data", str(data)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        _stop(proc)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    out = demo.stdout
    assert "status.revoked" in out  # the revoked identity was refused, and why
    assert "ACCEPTED" in out and "REFUSED" in out
    assert "The demo completed." in out
