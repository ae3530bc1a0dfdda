"""`govid up` (what `make run` runs): every printed URL answers; a second run reuses the data."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import GOVID

pytestmark = pytest.mark.slow


def _start(data: Path, port_base: int = 0) -> tuple[subprocess.Popen[str], list[str]]:
    """`govid up`; with port_base 0 the stack binds free ports itself (see stack.json)."""
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


def _assert_private(data: Path) -> None:
    """Issue 13 item 9: no other user reads the stack's data or the citizens' in it."""
    for directory in [data, *(p for p in data.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    private = [data / "stack.json", data / "secrets.json", *data.rglob("*.key")]
    private += [*data.rglob("*-keys.json")]
    for service in ("issuer-civil", "issuer-medical", "issuer-social", "verifier", "wallet"):
        private += [*(data / service).glob("*.db*")]  # with -wal and -shm
    assert len(private) > 15
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_up_serves_every_printed_url_and_reuses_its_data(tmp_path: Path) -> None:
    data = tmp_path / ".govid-data"  # where `make run` keeps it, relative to the cwd
    proc, lines = _start(data)
    try:
        # A newcomer sees the URLs at once: fewer than 30 lines before them.
        first_url = next(i for i, line in enumerate(lines) if "http://" in line)
        assert first_url < 30, "".join(lines[:40])
        urls = re.findall(r"http://127\.0\.0\.1:\d+[^\s)]*", "".join(lines))
        assert len(urls) >= 16
        for url in urls:
            # Agency pages ask for the agency's credentials: 401 is an answer.
            _wait_ok(url, answers=(200, 401) if url.endswith("/agency") else (200,))
        stack = json.loads((data / "stack.json").read_text())
        assert (data / "stack.json").stat().st_mode & 0o077 == 0, "it holds client secrets"
        registry = re.search(r"registry +(http://127\.0\.0\.1:\d+)", "".join(lines))
        assert registry is not None and stack["registry"] == registry[1]
        assert len(stack["witnesses"]) == 2
        assert set(stack["issuers"]) == {"civil", "medical", "social"}
        for issuer in stack["issuers"].values():
            assert {"url", "client_id", "client_secret"} <= set(issuer)
        assert {"client_id", "client_secret"} <= set(stack["counter"])
        # The counter page's own login (issue 13 item 1): the page signs it in.
        login = stack["counter_login"]
        with httpx.Client(base_url=stack["verifier"], timeout=30) as browser:
            form = browser.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf is not None
            signed = browser.post("/login", data={**login, "csrf": csrf.group(1)})
            assert signed.status_code == 303, signed.text
            assert "Age over 18" in browser.get("/").text
        root = _wait_ok(stack["registry"] + "/checkpoint").text
        assert root.count("\u2014 ") == 3  # the log and both witnesses signed

        # An auditor pins the keys stack.json carries and checks every cosignature.
        audit = subprocess.run(
            [*GOVID, "registry", "audit", stack["registry"], "--stack", str(data / "stack.json")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
        verified = re.search(r"cosignatures verified: (\d+)", audit.stdout)
        assert verified is not None and int(verified[1]) >= 2, audit.stdout
        assert "trust on first use" not in (audit.stdout + audit.stderr).lower()

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
        _assert_private(data)
    finally:
        _stop(proc)
    first_root = json.loads((data / "registry" / "registry.json").read_text())["rootDid"]

    proc, lines = _start(data)
    try:
        registry = re.search(r"registry +(http://127\.0\.0\.1:\d+)", "".join(lines))
        assert registry is not None
        _wait_ok(registry[1] + "/healthz")
        again = json.loads((data / "registry" / "registry.json").read_text())["rootDid"]
        assert again == first_root
    finally:
        _stop(proc)


def test_a_port_in_use_is_named_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # The registry's port is free only if nothing else holds it; the
        # witness (the next port) is the one taken.
        result = subprocess.run(
            [*GOVID, "up", "--data", str(data), "--port-base", str(port - 1)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    message = (result.stdout + result.stderr).strip().splitlines()
    assert len(message) == 1, message
    assert f"port {port} (witness-1) is in use" in message[0]
    assert "make run PORT_BASE=" in message[0]
    assert not data.exists(), "nothing is bootstrapped when a port is taken"


def test_demo_completes_against_the_running_stack(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    proc, _ = _start(data)
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
    verified = re.search(r"cosignatures verified: (\d+)", out)
    assert verified is not None and int(verified[1]) > 0, out[-2000:]
