"""`govid did resolve` and `govid did dereference` against a registry on loopback.

The CLI verifies the ledger proof and recomputes the document and metadata;
what it prints must be what the registry serves over HTTP, for every version
(a deactivated DID resolved at an earlier version included).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from did.keys import generate_private_key
from did.methods import did_key_from_public_key
from govid.cli import app
from tests.registry.did_history import Registry, registry_with_history


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with registry_with_history(tmp_path_factory.mktemp("registry")) as running:
        yield running


def _govid(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def _trusted(registry: Registry) -> list[str]:
    return ["--registry", registry.url, "--log-vkey", registry.vkey]


@pytest.mark.parametrize("version", [None, "1", "2"])
def test_cli_and_http_agree_on_a_deactivated_did_at_every_version(
    registry: Registry, version: str | None
) -> None:
    did = registry.gone.did
    args = ["--version-id", version] if version else []
    code, out = _govid("did", "resolve", did, *_trusted(registry), *args)
    assert code == 0, out
    printed = json.loads(out)
    served = registry.http.get(
        f"/1.0/identifiers/{did}", params={"versionId": version} if version else None
    )
    assert served.status_code == 410
    assert printed["didDocumentMetadata"] == served.json()["didDocumentMetadata"]
    assert printed["didDocumentMetadata"]["deactivated"] is True
    assert printed["didDocument"] == served.json()["didDocument"]
    assert printed["didResolutionMetadata"] == {"verifiedBy": "ledgerProof"}


def test_resolve_with_accept_prints_the_representation(registry: Registry) -> None:
    did = registry.rotated.did
    code, out = _govid(
        "did", "resolve", did, *_trusted(registry), "--accept", "application/did+json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["id"] == did and "@context" not in document
    code, out = _govid("did", "resolve", did, *_trusted(registry), "--accept", "text/html")
    assert code == 1
    assert json.loads(out)["didResolutionMetadata"]["error"] == "representationNotSupported"


def test_dereference_a_key_a_service_and_an_old_version(registry: Registry) -> None:
    did = registry.rotated.did
    code, out = _govid("did", "dereference", did + "#key-2", *_trusted(registry))
    assert code == 0, out
    result: dict[str, Any] = json.loads(out)
    assert result["contentStream"]["id"] == did + "#key-2"
    assert result["contentMetadata"]["versionId"] == "2"
    served = registry.http.get(f"/1.0/identifiers/{did}%23key-2").json()
    assert result == served  # the CLI's recomputation is what the registry serves
    code, out = _govid("did", "dereference", did + "?versionId=1#key-1", *_trusted(registry))
    assert code == 0 and json.loads(out)["contentStream"]["id"] == did + "#key-1"
    code, out = _govid(
        "did", "dereference", did + "?service=files&relativeRef=%2Fa.pdf", *_trusted(registry),
        "--accept", "text/uri-list",
    )  # fmt: skip
    assert (code, out) == (0, "https://files.example/a.pdf\n")


@pytest.mark.parametrize(
    ("url", "error"),
    [("did:govid:nothing111#key-1", "notFound"), ("nonsense", "invalidDidUrl")],
)
def test_dereference_errors_exit_1_with_the_result(
    registry: Registry, url: str, error: str
) -> None:
    code, out = _govid("did", "dereference", url, *_trusted(registry))
    assert code == 1
    assert json.loads(out)["dereferencingMetadata"]["error"] == error


def test_did_key_without_a_registry() -> None:
    did = did_key_from_public_key(generate_private_key("EdDSA").public_key())
    code, out = _govid("did", "resolve", did, "--enable-encryption-key-derivation")
    assert code == 0
    document = json.loads(out)["didDocument"]
    assert document["keyAgreement"][0]["publicKeyMultibase"].startswith("z6LS")
    code, out = _govid("did", "dereference", did + "#" + did.removeprefix("did:key:"))
    assert code == 0 and json.loads(out)["contentStream"]["type"] == "Multikey"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "ES384", "ES512", "ES256K"])
def test_key_generate_offers_every_algorithm(tmp_path: Any, alg: str) -> None:
    out_file = tmp_path / "key.jwk"
    code, out = _govid("did", "key", "generate", "--alg", alg, "--out", str(out_file))
    assert code == 0
    did = out.strip()
    resolved = json.loads(_govid("did", "resolve", did)[1])
    assert resolved["didDocument"]["id"] == did
    assert json.loads(out_file.read_text())["d"]
