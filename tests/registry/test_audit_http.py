"""The auditor over HTTP: a real registry on loopback, and mock registries for paging and faults."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from did.encoding import b64url_encode
from did.errors import GovidError
from registry import authoring
from registry.api.app import create_app
from registry.api.routes import MAX_ENTRIES_PER_PAGE
from registry.audit import audit_registry, render_report
from registry.authoring import Keyring, op_hash_of
from registry.bootstrap import init_registry
from registry.checkpoint import Checkpoint
from registry.config import RegistryConfig
from registry.note import Note, NoteSigner
from registry.operations import canonical_json
from tests.registry.test_audit import (  # the shared log, its helpers and fixtures
    FOREVER,
    ORIGIN,
    History,
    _entries,
    _found,
    _notes,
    _status_token,
)
from tests.servers import serve

CIVIL = "https://govid.example/vct/civil"
LIST_URI = "https://civil.example/status/1"


# --- over HTTP, against a real registry ---------------------------------------------------


@dataclass
class Registry:
    url: str
    data_dir: Path
    info: dict[str, Any]
    http: httpx.Client
    root: Keyring

    def submit(self, operation: str) -> int:
        response = self.http.post("/operations", json={"operation": operation})
        assert response.status_code == 201, response.text
        index: int = response.json()["index"]
        return index

    def wait_for_checkpoint(self, size: int) -> None:
        """Poll until a signed checkpoint covers `size` entries (signed every ~0.25 s)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = self.http.get("/checkpoint")
            if response.status_code == 200:
                if Checkpoint.parse(Note.parse(response.text).unverified_text).size >= size:
                    return
            time.sleep(0.05)
        pytest.fail("no checkpoint covered the appended entries")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    data_dir = tmp_path / "registry"
    info = init_registry(data_dir)
    root = Keyring.from_json(json.loads((data_dir / "root-keys.json").read_text()))
    with serve(create_app(RegistryConfig(data_dir=data_dir))) as url:
        with httpx.Client(base_url=url, timeout=10) as http:
            yield Registry(url, data_dir, info, http, root)


def _populate(registry: Registry) -> int:
    """A realistic mix through the API; returns the log size."""
    root = registry.root
    agency, op = authoring.create_did(ledger=ORIGIN)
    registry.submit(op)
    root, op = authoring.grant(
        root,
        subject=agency.did,
        role="issuer",
        credential_types=[CIVIL],
        valid_from=0,
        valid_until=FOREVER,
    )
    registry.submit(op)
    accreditation = op_hash_of(op)
    agency, op = authoring.publish_status_list(
        agency,
        uri=LIST_URI,
        sequence=1,
        token=_status_token(agency, LIST_URI),
        credential_types=[CIVIL],
    )
    registry.submit(op)
    agency, op = authoring.rotate(agency)
    registry.submit(op)
    agency, op = authoring.publish_status_list(
        agency,
        uri=LIST_URI,
        sequence=2,
        token=_status_token(agency, LIST_URI),
        credential_types=[CIVIL],
    )
    registry.submit(op)
    root, op = authoring.revoke_accreditation(root, accreditation=accreditation)
    size = registry.submit(op) + 1
    registry.wait_for_checkpoint(size)
    return size


def test_http_audit_of_an_honest_registry(registry: Registry) -> None:
    size = _populate(registry)
    seen: list[tuple[int, int]] = []
    with httpx.Client(timeout=10) as client:
        report = audit_registry(
            registry.url,
            log_vkey=None,
            policy=None,
            client=client,
            progress=lambda done, total: seen.append((done, total)),
        )
    assert report.ok, render_report(report)
    assert report.trust_on_first_use and report.log_vkey == registry.info["vkey"]
    assert report.origin == ORIGIN and report.entries == size == 7
    assert (report.dids, report.accreditations, report.revoked_accreditations) == (2, 1, 1)
    assert (report.status_lists, report.status_list_publications) == (1, 2)
    assert report.checkpoints >= 1 and report.checkpoints == report.checkpoints_verified
    assert report.largest_verified_size == size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert "trusted on first use" in render_report(report)


def test_http_audit_with_a_pinned_key(registry: Registry) -> None:
    registry.wait_for_checkpoint(1)
    with httpx.Client(timeout=10) as client:
        pinned = audit_registry(
            registry.url, log_vkey=registry.info["vkey"], policy=None, client=client
        )
        other = NoteSigner.generate(ORIGIN).verifier().to_vkey()
        wrong = audit_registry(registry.url, log_vkey=other, policy=None, client=client)
    assert pinned.ok and not pinned.trust_on_first_use and pinned.entries == 1
    assert not wrong.ok
    assert {v.code for v in wrong.violations} == {"note.unknown_key", "audit.no_checkpoint"}


def test_http_audit_catches_an_entry_rewritten_in_the_database(registry: Registry) -> None:
    size = _populate(registry)
    with sqlite3.connect(registry.data_dir / "registry.db") as db:
        (data,) = db.execute("SELECT data FROM registry_entry WHERE idx = 3").fetchone()
        entry = json.loads(data)
        # Swap in a freshly signed operation: it parses, but no checkpoint signed it.
        _, entry["operation"] = authoring.create_did(ledger=ORIGIN)
        db.execute("UPDATE registry_entry SET data = ? WHERE idx = 3", (canonical_json(entry),))
    with httpx.Client(timeout=10) as client:
        report = audit_registry(registry.url, log_vkey=None, policy=None, client=client)
    assert not report.ok
    mismatched = [v.size for v in report.violations if v.code == "audit.root_mismatch"]
    assert mismatched and all(s is not None and s > 3 for s in mismatched)
    assert report.largest_verified_size is None or report.largest_verified_size <= 3
    # The swapped-out publication (sequence 1) is missing, so the list's next
    # publication no longer follows on.
    assert ("ledger.status_list_sequence", "entry 5") in [
        (v.code, v.where) for v in report.violations
    ]
    assert report.entries == size


def _mock_registry(
    entries: Sequence[bytes], listed: Sequence[str], latest: str, vkey: str
) -> httpx.MockTransport:
    """The registry's audit API over fixed data, paging like the real one."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if request.url.path == "/log/vkey":
            return httpx.Response(200, text=vkey + "\n")
        if request.url.path == "/checkpoint":
            return httpx.Response(200, text=latest)
        if request.url.path == "/log/checkpoints":
            start = int(params["start"])
            sizes = [(Checkpoint.parse(Note.parse(n).unverified_text).size, n) for n in listed]
            page = [{"size": s, "note": n, "cosignatures": 0} for s, n in sizes if s >= start]
            return httpx.Response(200, json={"checkpoints": page[:MAX_ENTRIES_PER_PAGE]})
        assert request.url.path == "/log/entries"
        start, end = int(params["start"]), int(params["end"])
        end = min(end, start + MAX_ENTRIES_PER_PAGE, len(entries))
        rows = [{"index": i, "entry": b64url_encode(entries[i])} for i in range(start, end)]
        return httpx.Response(200, json={"entries": rows})

    return httpx.MockTransport(answer)


def test_audit_pages_through_a_long_log(log_signer: NoteSigner) -> None:
    operations = [authoring.create_did(ledger=ORIGIN)[1] for _ in range(2100)]
    entries = _entries(operations)
    notes = _notes(entries, log_signer, [*range(1, 1101), 2100])
    vkey = log_signer.verifier().to_vkey()
    seen: list[tuple[int, int]] = []
    transport = _mock_registry(entries, notes, notes[-1], vkey)
    with httpx.Client(transport=transport, base_url="http://registry.test") as client:
        report = audit_registry(
            "http://registry.test",
            log_vkey=vkey,
            policy=None,
            client=client,
            progress=lambda done, total: seen.append((done, total)),
        )
    assert report.ok, render_report(report)
    assert (report.entries, report.dids, report.checkpoints_verified) == (2100, 2100, 1101)
    assert seen == [(0, 2100), (1000, 2100), (2000, 2100), (2100, 2100)]


def test_latest_checkpoint_missing_from_the_history(
    history: History, log_signer: NoteSigner
) -> None:
    # A split view: clients are shown checkpoint 10, auditors only the history up to 6.
    entries = _entries(history.operations)
    notes = _notes(entries, log_signer, [3, 6, 10])
    vkey = log_signer.verifier().to_vkey()
    transport = _mock_registry(entries, notes[:2], notes[2], vkey)
    with httpx.Client(transport=transport) as client:
        report = audit_registry("http://registry.test", log_vkey=vkey, policy=None, client=client)
    assert _found(report) == [("audit.checkpoint_unlisted", "checkpoint 10")]
    assert report.entries == 10 and report.largest_verified_size == 10


def test_http_audit_of_an_unreachable_registry() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(GovidError) as exc:
            audit_registry("http://registry.invalid", log_vkey=None, policy=None, client=client)
    assert exc.value.code == "audit.registry_unavailable"


def test_http_audit_of_a_non_registry() -> None:
    vkey = NoteSigner.generate(ORIGIN).verifier().to_vkey()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/checkpoint":
            return httpx.Response(404, text="no checkpoint yet\n")
        return httpx.Response(200, text=vkey)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(GovidError) as exc:
            audit_registry("http://registry.invalid", log_vkey=None, policy=None, client=client)
    assert exc.value.code == "audit.no_checkpoint"
