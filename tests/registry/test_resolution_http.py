"""`GET /1.0/identifiers/{did-url}` over real HTTP: negotiation, versions, dereferencing.

One registry on loopback serves a DID with a service that was rotated (two
versions) and a DID that was deactivated (two versions), created with real
signed operations. Every answer is checked as a client relying on DID Core
§7 and the DID Resolution HTTP binding would check it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from did.errors import GovidError
from did.resolver import ResolutionOptions
from registry.client import RegistryClient
from registry.proofs import verify_ledger_proof
from tests.registry.did_history import SERVICE, Registry, registry_with_history

DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")  # DID Core §7.1.3, no sub-second


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with registry_with_history(tmp_path_factory.mktemp("registry")) as running:
        yield running


def _get(registry: Registry, path: str, accept: str | None = None, **params: str) -> httpx.Response:
    headers = {} if accept is None else {"Accept": accept}
    return registry.http.get("/1.0/identifiers/" + path, headers=headers, params=params or None)


def _no_numbers(value: Any) -> bool:
    """DID Core §7.3: strings, maps, lists, booleans and null only, at every depth."""
    if isinstance(value, dict):
        return all(_no_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_numbers(v) for v in value)
    return value is None or isinstance(value, str | bool)


# --- resolution -----------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "*/*", "application/did-resolution+json"])
def test_the_default_answer_is_the_whole_result(registry: Registry, accept: str | None) -> None:
    did = registry.rotated.did
    response = _get(registry, did, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/did-resolution+json"
    assert response.headers["vary"] == "Accept"
    body = response.json()
    assert body["didDocument"]["id"] == did
    assert "contentType" not in body["didResolutionMetadata"]  # DID Core §7.1.2 (resolve)
    meta = body["didDocumentMetadata"]
    assert _no_numbers(meta), meta
    assert DATETIME.fullmatch(meta["created"]) and DATETIME.fullmatch(meta["updated"])
    assert meta["versionId"] == "2" and meta["deactivated"] is False
    proof = meta["ledgerProof"]
    assert set(proof) >= {"entry", "index", "treeSize", "inclusionPath", "checkpoint"}
    assert proof["index"].isdigit() and proof["treeSize"].isdigit()
    assert [r["id"] for r in meta["keyHistory"]] == ["#key-1", "#key-2"]
    old, new = meta["keyHistory"]
    assert old["validUntil"] == new["validFrom"]  # the rotation's log time, in milliseconds
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", new["validFrom"])
    assert new["validUntil"] is None


def test_representations_by_accept(registry: Registry) -> None:
    did = registry.rotated.did
    whole = _get(registry, did).json()["didDocument"]
    plain = _get(registry, did, "application/did+json")
    assert (plain.status_code, plain.headers["content-type"]) == (200, "application/did+json")
    assert plain.json() == {k: v for k, v in whole.items() if k != "@context"}
    ld = _get(registry, did, "application/did+ld+json")
    assert ld.headers["content-type"] == "application/did+ld+json"
    assert ld.json() == whole and ld.json()["@context"][0] == "https://www.w3.org/ns/did/v1"
    preferred = _get(registry, did, "application/did+json;q=0.4, application/did+ld+json;q=0.8")
    assert preferred.headers["content-type"] == "application/did+ld+json"


@pytest.mark.parametrize(
    ("path", "accept", "status", "error"),
    [
        ("did:govid:x", "text/html", 406, "representationNotSupported"),
        ("did:govid:x", "application/did+cbor", 406, "representationNotSupported"),
        ("not-a-did", None, 400, "invalidDid"),
        ("not-a-did", "application/did+json", 400, "invalidDid"),
        ("did:web:example.com", None, 501, "methodNotSupported"),
        ("did:govid:unknown111", "application/did+json", 404, "notFound"),
        ("did:govid:x?versionId=abc", None, 400, "invalidOptions"),
        ("did:govid:x?versionId=0", None, 400, "invalidOptions"),
        ("did:govid:x?versionTime=yesterday", None, 400, "invalidOptions"),
        ("did:govid:x?versionTime=2026-01-01T00:00:00", None, 400, "invalidOptions"),
    ],
)
def test_errors_are_resolution_results_whatever_was_accepted(
    registry: Registry, path: str, accept: str | None, status: int, error: str
) -> None:
    if path == "did:govid:x" or path.startswith("did:govid:x?"):
        path = path.replace("did:govid:x", registry.rotated.did)
    did, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    response = _get(registry, did, accept, **params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/did-resolution+json"
    body = response.json()
    assert body["didDocument"] is None and body["didDocumentMetadata"] == {}
    assert body["didResolutionMetadata"]["error"] == error
    assert body["didResolutionMetadata"]["errorMessage"]


def test_versions_and_the_deactivated_did(registry: Registry) -> None:
    gone = registry.gone.did
    now = _get(registry, gone)
    assert now.status_code == 410
    assert now.json()["didDocumentMetadata"]["deactivated"] is True
    assert "verificationMethod" not in now.json()["didDocument"]
    first = _get(registry, gone, versionId="1")
    # The first version had keys, but the DID is deactivated now: 410, deactivated true.
    assert first.status_code == 410
    meta = first.json()["didDocumentMetadata"]
    assert meta["deactivated"] is True and meta["versionId"] == "1"
    assert meta["nextVersionId"] == "2"
    assert first.json()["didDocument"]["verificationMethod"][0]["id"] == gone + "#key-1"
    plain = _get(registry, gone, "application/did+json", versionId="1")
    assert plain.status_code == 410 and plain.json()["id"] == gone
    # The DID URL with its query percent-encoded into the path is the same request.
    encoded = registry.http.get(f"/1.0/identifiers/{gone}%3FversionId%3D1")
    assert encoded.json() == first.json()
    assert _get(registry, gone, versionId="3").status_code == 404
    assert _get(registry, gone, versionTime="2000-01-01T00:00:00Z").status_code == 404


def test_the_client_and_the_registry_agree_on_every_version(registry: Registry) -> None:
    """The client recomputes metadata from the proof; it must match what was served."""
    with RegistryClient(registry.url, trust=registry.trust) as client:
        for keyring in (registry.gone, registry.rotated):
            for version in (None, "1", "2"):
                served = _get(registry, keyring.did, **({"versionId": version} if version else {}))
                local = client.resolve(keyring.did, ResolutionOptions(version_id=version))
                assert local.document_metadata == served.json()["didDocumentMetadata"]
                assert local.did_document is not None
                assert local.did_document.to_json() == served.json()["didDocument"]
                assert dict(local.resolution_metadata) == {"verifiedBy": "ledgerProof"}
        old = client.resolve(registry.gone.did, ResolutionOptions(version_id="1"))
        assert old.deactivated and old.document_metadata["nextVersionId"] == "2"


def test_ledger_proof_numbers_are_canonical_decimal_strings(registry: Registry) -> None:
    proof = _get(registry, registry.rotated.did).json()["didDocumentMetadata"]["ledgerProof"]
    assert verify_ledger_proof(proof, trust=registry.trust, now=None).entries
    # Integers, as registries sent them before, are read too; other spellings are not.
    as_ints = {**proof, "index": int(proof["index"]), "treeSize": int(proof["treeSize"])}
    assert verify_ledger_proof(as_ints, trust=registry.trust, now=None).entries
    for name, bad in [
        ("leading-zero", "0" + proof["index"]),
        ("sign", "+" + proof["index"]),
        ("negative", "-1"),
        ("fraction", proof["index"] + ".0"),
        ("boolean", True),
        ("float", float(proof["index"])),
    ]:
        with pytest.raises(GovidError) as info:
            verify_ledger_proof({**proof, "index": bad}, trust=registry.trust, now=None)
        assert info.value.code == "ledger.proof_malformed", name
    with pytest.raises(GovidError) as info:
        verify_ledger_proof(
            {**proof, "treeSize": "0" + proof["treeSize"]}, trust=registry.trust, now=None
        )
    assert info.value.code == "ledger.proof_malformed"


# --- dereferencing -------------------------------------------------------------------------


def test_a_key_by_its_fragment(registry: Registry) -> None:
    did = registry.rotated.did
    whole = _get(registry, did + "%23key-2")
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/did-url-dereferencing+json"
    body = whole.json()
    assert body["dereferencingMetadata"] == {"contentType": "application/did+json"}
    assert body["contentStream"]["id"] == did + "#key-2"
    assert body["contentStream"]["type"] == "Multikey"
    # The key comes with the document's metadata, ledger proof included.
    assert body["contentMetadata"]["ledgerProof"]["checkpoint"]
    alone = _get(registry, did + "%23key-2", "application/did+json")
    assert alone.headers["content-type"] == "application/did+json"
    assert alone.json() == body["contentStream"]
    ld = _get(registry, did + "%23key-2", "application/did+ld+json").json()
    assert ld["@context"][0] == "https://www.w3.org/ns/did/v1" and ld["id"] == did + "#key-2"


def test_an_old_key_by_version_and_fragment(registry: Registry) -> None:
    did = registry.rotated.did
    assert _get(registry, did + "%23key-1").status_code == 404  # not in the latest version
    old = _get(registry, did + "%23key-1", versionId="1")
    assert old.status_code == 200, old.text
    assert old.json()["contentStream"]["id"] == did + "#key-1"
    assert old.json()["contentMetadata"]["versionId"] == "1"
    same = registry.http.get(f"/1.0/identifiers/{did}%3FversionId%3D1%23key-1")
    assert same.json() == old.json()


def test_a_service_endpoint_with_a_relative_ref(registry: Registry) -> None:
    did = registry.rotated.did
    service = _get(registry, did + "%23files").json()["contentStream"]
    assert service["serviceEndpoint"] == SERVICE["serviceEndpoint"]
    whole = _get(registry, did, service="files", relativeRef="/docs/a.pdf")
    assert whole.status_code == 200
    body = whole.json()
    assert body["dereferencingMetadata"]["contentType"] == "text/uri-list"
    assert body["contentStream"] == "https://files.example/docs/a.pdf"
    assert body["contentMetadata"] == {}
    uri_list = _get(registry, did, "text/uri-list", service="files", relativeRef="b/c")
    assert uri_list.status_code == 200 and "location" not in uri_list.headers  # no redirect
    assert uri_list.headers["content-type"].startswith("text/uri-list")
    assert uri_list.text == "https://files.example/v1/b/c\r\n"


@pytest.mark.parametrize(
    ("suffix", "params", "accept", "status", "error"),
    [
        ("%23nothing", {}, None, 404, "notFound"),
        ("%23key-2", {}, "text/html", 406, "representationNotSupported"),
        ("", {"service": "files"}, "application/did+json", 406, "representationNotSupported"),
        ("", {"service": "nothing"}, None, 404, "notFound"),
        ("", {"hl": "zQmWvQx"}, None, 400, "invalidDidUrl"),
        ("", {"relativeRef": "/x"}, None, 400, "invalidDidUrl"),
        ("", {"service": "files", "relativeRef": "//evil.example/"}, None, 400, "invalidDidUrl"),
        ("%3FversionId%3D1", {"versionId": "1"}, None, 400, "invalidDidUrl"),  # two queries
        ("%23key 2", {}, None, 400, "invalidDidUrl"),
    ],
)
def test_dereferencing_errors_are_dereferencing_results(
    registry: Registry,
    suffix: str,
    params: dict[str, str],
    accept: str | None,
    status: int,
    error: str,
) -> None:
    response = _get(registry, registry.rotated.did + suffix, accept, **params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/did-url-dereferencing+json"
    body = response.json()
    assert body["dereferencingMetadata"]["error"] == error
    assert body["contentStream"] is None and body["contentMetadata"] == {}


def test_a_fragment_of_a_deactivated_did_is_not_found(registry: Registry) -> None:
    response = _get(registry, registry.gone.did + "%23key-1")
    assert response.status_code == 404
    assert json.loads(response.text)["dereferencingMetadata"]["error"] == "notFound"
