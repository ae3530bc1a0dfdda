"""The registry's HTTP API: answers in the DIF resolver shape, and clear 4xx for bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from did.status_list import StatusList
from did.status_list_token import build_status_list_token
from registry import authoring
from registry.api.app import create_app
from registry.authoring import Keyring
from registry.bootstrap import init_registry
from registry.config import RegistryConfig
from tests.servers import serve


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data: Path = tmp_path_factory.mktemp("registry")
    info = init_registry(data)
    with (
        serve(create_app(RegistryConfig(data_dir=data))) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield {"client": client, "info": info, "data": data}


def _submit(client: httpx.Client, op: str) -> dict[str, Any]:
    response = client.post("/operations", json={"operation": op})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _covered(client: httpx.Client, size: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = client.get("/checkpoint")
        if response.status_code == 200 and int(response.text.split("\n")[1]) >= size:
            return
        time.sleep(0.05)
    raise AssertionError("no checkpoint in time")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"operation": "not.a.jws"}, 400, "ledger.operation_malformed"),
        ({"operation": ""}, 400, "ledger.operation_malformed"),
        ({"wrong": 1}, 400, "request.invalid"),
        ([1, 2, 3], 400, "request.invalid"),
    ],
)
def test_bad_operations_are_4xx_and_append_nothing(
    api: dict[str, Any], body: object, status: int, code: str
) -> None:
    client: httpx.Client = api["client"]
    before = client.get("/readyz").json()["treeSize"]
    response = client.post("/operations", json=body)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert client.get("/readyz").json()["treeSize"] == before


def test_not_json_and_huge_bodies(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    garbage = client.post(
        "/operations", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 400
    huge = client.post("/operations", content=b"x" * (2 * 1024 * 1024))
    assert (huge.status_code, huge.json()["error"]) == (413, "request.too_large")


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/1.0/identifiers/did:govid:unknown111", 404, "notFound"),
        ("/1.0/identifiers/not-a-did", 400, "invalidDid"),
        ("/1.0/identifiers/did:web:example.com", 501, "methodNotSupported"),
        ("/1.0/identifiers/did:govid:x?versionId=abc", 400, "invalidOptions"),
        ("/1.0/identifiers/did:govid:x?versionTime=yesterday", 400, "invalidOptions"),
        ("/1.0/identifiers/did:govid:x?versionTime=2026-01-01T00:00:00", 400, "invalidOptions"),
    ],
)
def test_resolution_errors_use_the_did_resolution_vocabulary(
    api: dict[str, Any], path: str, status: int, error: str
) -> None:
    response = api["client"].get(path)
    assert response.status_code == status
    body = response.json()
    assert body["didDocument"] is None
    assert body["didResolutionMetadata"]["error"] == error


def test_resolution_versions_accreditations_and_status_lists(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    origin = api["info"]["origin"]
    root = Keyring.from_json(json.loads((api["data"] / "root-keys.json").read_text()))
    agency, op = authoring.create_did(ledger=origin)
    _submit(client, op)
    root, grant = authoring.grant(
        root,
        subject=agency.did,
        role="issuer",
        credential_types=["civil"],
        valid_from=0,
        valid_until=2**40,
    )
    granted = _submit(client, grant)
    uri = "https://civil.example/status/1"
    token = build_status_list_token(
        StatusList.new(131072, 2),
        key=agency.signing_key(),
        uri=uri,
        iat=int(time.time()),
        kid=agency.signing_kid,
    )
    _, publish = authoring.publish_status_list(
        agency, uri=uri, sequence=1, token=token, credential_types=["civil"]
    )
    published = _submit(client, publish)
    _, rotation = authoring.rotate(agency)
    last = _submit(client, rotation)
    _covered(client, last["index"] + 1)

    latest = client.get(f"/1.0/identifiers/{agency.did}").json()
    assert latest["didDocumentMetadata"]["versionId"] == "2"
    proof = latest["didDocumentMetadata"]["ledgerProof"]
    # Indices are decimal strings (DID Core §7.3 metadata has no numbers).
    assert [h["index"] for h in proof["history"]] == [str(granted["index"] - 1)]  # the create
    first = client.get(f"/1.0/identifiers/{agency.did}", params={"versionId": "1"}).json()
    assert first["didDocumentMetadata"]["nextVersionId"] == "2"
    # An old version's proof still covers the whole chain (method spec §7.3).
    assert first["didDocumentMetadata"]["ledgerProof"]["index"] == str(last["index"])
    assert (
        client.get(f"/1.0/identifiers/{agency.did}", params={"versionId": "3"}).status_code == 404
    )

    accs = client.get(f"/accreditations/{agency.did}").json()["accreditations"]
    assert accs[0]["id"] == granted["operationHash"] and accs[0]["ledgerProof"]["index"] == str(
        granted["index"]
    )
    listed = client.get("/status-lists", params={"issuer": agency.did, "uri": uri}).json()
    assert listed["token"] == token and listed["sequence"] == 1
    assert listed["issuer"] == agency.did
    assert listed["ledgerProof"]["index"] == str(published["index"])
    for params in ({"issuer": agency.did, "uri": "https://nowhere.example/s"},
                   {"issuer": root.did, "uri": uri}):  # fmt: skip
        missing = client.get("/status-lists", params=params)
        assert (missing.status_code, missing.json()["error"]) == (404, "ledger.status_list_unknown")
    # The uri alone names no list (method spec §5.7): a clear 400, not someone's list.
    bare = client.get("/status-lists", params={"uri": uri})
    assert (bare.status_code, bare.json()["error"]) == (400, "ledger.status_list_issuer_required")
    bad = client.get("/status-lists", params={"issuer": "not a did", "uri": uri})
    assert (bad.status_code, bad.json()["error"]) == (400, "did.invalid")


def test_log_endpoints(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    home = client.get("/").json()
    assert home["origin"] == api["info"]["origin"] and home["vkey"] == api["info"]["vkey"]
    assert client.get("/log/vkey").text.strip() == api["info"]["vkey"]
    bad = client.get("/log/proof/consistency", params={"old": 5, "new": 2})
    assert (bad.status_code, bad.json()["error"]) == (400, "ledger.proof_request_invalid")
    too_far = client.get("/log/proof/inclusion", params={"index": 0, "size": 10**9})
    assert too_far.status_code == 400
    assert client.get("/log/entries", params={"start": 3, "end": 1}).status_code == 400
    assert client.get("/log/entries", params={"start": -1, "end": 1}).status_code == 400
    entries = client.get("/log/entries", params={"start": 0, "end": 1}).json()["entries"]
    assert entries[0]["index"] == 0
