"""DID URL dereferencing (DID Core §7.2): fragments, services, versions, and every refusal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from did.dereference import DereferencingOptions, DereferencingResult, dereference
from did.document import DIDDocument
from did.errors import DIDNotFound
from did.identifiers import DID
from did.keys import generate_private_key, to_multikey
from did.methods import DIDJWKResolver, DIDKeyResolver, did_key_from_public_key
from did.resolver import ResolutionOptions, ResolutionResult, Resolver

KEY = to_multikey(generate_private_key("EdDSA").public_key())
DOC_ID = "did:example:1"


def _document(version: int) -> DIDDocument:
    return DIDDocument.from_json(
        {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": DOC_ID,
            "verificationMethod": [
                {
                    "id": f"#key-{version}",
                    "type": "Multikey",
                    "controller": DOC_ID,
                    "publicKeyMultibase": KEY,
                }
            ],
            "authentication": [f"#key-{version}"],
            "service": [
                {"id": "#files", "type": "Files", "serviceEndpoint": "https://files.example/v1/"},
                {"id": "#many", "type": "X", "serviceEndpoint": [{"a": 1}, "https://m.example"]},
                {"id": "#map", "type": "X", "serviceEndpoint": {"origins": ["https://o.example"]}},
                {"id": "#relative", "type": "X", "serviceEndpoint": "files/"},
            ],
        }
    )


@dataclass
class Versions:
    """A did:example method with two versions, recording the options it is given."""

    method: str = "example"
    seen: list[ResolutionOptions] = field(default_factory=list)

    def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        self.seen.append(options)
        if str(did) != DOC_ID:
            raise DIDNotFound("no such DID")
        version = int(options.version_id or "2")
        if version not in (1, 2):
            raise DIDNotFound("no such version")
        meta = {"versionId": str(version), "created": "2026-01-01T00:00:00Z"}
        return ResolutionResult(_document(version), meta, {})


def _resolver() -> tuple[Resolver, Versions]:
    method = Versions()
    resolver = Resolver(
        [method, DIDKeyResolver(), DIDJWKResolver()], clock=lambda: datetime.now(UTC)
    )
    return resolver, method


def _ok(result: DereferencingResult) -> Any:
    assert result.error is None, result.dereferencing_metadata
    if result.content_type == "text/uri-list":
        return result.content.decode()
    return json.loads(result.content)


def test_the_did_itself_is_its_document_with_its_metadata() -> None:
    resolver, _ = _resolver()
    result = dereference(resolver, DOC_ID)
    assert result.content_type == "application/did+json"
    body = _ok(result)
    assert body["id"] == DOC_ID and "@context" not in body
    assert result.content_metadata == {"versionId": "2", "created": "2026-01-01T00:00:00Z"}
    ld = dereference(resolver, DOC_ID, DereferencingOptions(accept="application/did+ld+json"))
    assert ld.content_type == "application/did+ld+json"
    assert _ok(ld)["@context"][0] == "https://www.w3.org/ns/did/v1"


def test_a_fragment_is_the_verification_method_or_service() -> None:
    resolver, _ = _resolver()
    method = dereference(resolver, DOC_ID + "#key-2")
    assert _ok(method) == {
        "id": DOC_ID + "#key-2",
        "type": "Multikey",
        "controller": DOC_ID,
        "publicKeyMultibase": KEY,
    }
    assert method.content_metadata["versionId"] == "2"
    service = _ok(dereference(resolver, DOC_ID + "#files"))
    assert service["serviceEndpoint"] == "https://files.example/v1/"
    ld = dereference(resolver, DOC_ID + "#key-2", DereferencingOptions("application/did+ld+json"))
    assert _ok(ld)["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]


def test_version_parameters_select_the_document() -> None:
    resolver, method = _resolver()
    old = dereference(resolver, DOC_ID + "?versionId=1#key-1")
    assert _ok(old)["id"] == DOC_ID + "#key-1"
    assert method.seen[-1].version_id == "1"
    # key-1 is not in version 2.
    assert dereference(resolver, DOC_ID + "#key-1").error == "notFound"
    when = dereference(resolver, DOC_ID + "?versionTime=2026-02-01T00:00:00Z")
    assert _ok(when)["id"] == DOC_ID
    assert method.seen[-1].version_time == datetime(2026, 2, 1, tzinfo=UTC)
    assert dereference(resolver, DOC_ID + "?versionId=9").error == "notFound"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("?service=files", "https://files.example/v1/"),
        ("?service=files&relativeRef=%2Fresume.pdf", "https://files.example/resume.pdf"),
        ("?service=files&relativeRef=a%2Fb%3Fx%3D1", "https://files.example/v1/a/b?x=1"),
        ("?service=files&relativeRef=..%2F..%2Fup", "https://files.example/up"),
        ("?service=files#part", "https://files.example/v1/#part"),
        ("?service=many", "https://m.example"),
        ("?relativeRef=%2Fx&service=files", "https://files.example/x"),  # order does not matter
    ],
)
def test_service_and_relative_ref_give_a_url(url: str, expected: str) -> None:
    resolver, _ = _resolver()
    result = dereference(resolver, DOC_ID + url)
    assert result.content_type == "text/uri-list" and result.content_metadata == {}
    assert _ok(result) == expected
    assert result.to_json()["contentStream"] == expected


@pytest.mark.parametrize(
    ("url", "options", "error"),
    [
        ("not a did url", None, "invalidDidUrl"),
        ("did:example:1#key 1", None, "invalidDidUrl"),
        ("#key-1", None, "invalidDidUrl"),  # relative: no base here
        ("did:example:1?hl=zQm", None, "invalidDidUrl"),  # integrity we would not check
        ("did:example:1?versionId=1&versionId=2", None, "invalidDidUrl"),
        ("did:example:1?relativeRef=%2Fx", None, "invalidDidUrl"),
        ("did:example:1?service", None, "invalidDidUrl"),
        ("did:example:1?service=%FF", None, "invalidDidUrl"),
        ("did:example:1?service=files&relativeRef=%2F%2Fevil.example%2F", None, "invalidDidUrl"),
        ("did:example:1?service=files&relativeRef=https:%2F%2Fevil.example", None, "invalidDidUrl"),
        ("did:example:1?versionTime=yesterday", None, "invalidOptions"),
        ("did:example:1?versionTime=2026-01-01T00:00:00", None, "invalidOptions"),
        ("did:example:1?service=nothing", None, "notFound"),
        ("did:example:1?service=map", None, "notFound"),
        ("did:example:1?service=relative", None, "notFound"),
        ("did:example:1#nothing", None, "notFound"),
        ("did:example:1/path", None, "notFound"),
        ("did:example:2", None, "notFound"),
        ("did:other:1#x", None, "methodNotSupported"),
        ("did:example:1", "text/html", "representationNotSupported"),
        ("did:example:1#key-2", "application/did+cbor", "representationNotSupported"),
        ("did:example:1?service=files", "application/did+json", "representationNotSupported"),
    ],
)
def test_refusals(url: str, options: str | None, error: str) -> None:
    resolver, _ = _resolver()
    result = dereference(resolver, url, DereferencingOptions(accept=options))
    assert result.error == error
    assert result.content == b"" and result.content_metadata == {}
    assert result.dereferencing_metadata.get("errorMessage")
    assert result.to_json()["contentStream"] is None


def test_did_key_fragments() -> None:
    resolver, _ = _resolver()
    did = did_key_from_public_key(generate_private_key("EdDSA").public_key())
    fragment = did.removeprefix("did:key:")
    node = _ok(dereference(resolver, f"{did}#{fragment}"))
    assert node["type"] == "Multikey" and node["publicKeyMultibase"] == fragment
    whole = _ok(dereference(resolver, did))
    assert whole["verificationMethod"][0] == node
    assert dereference(resolver, "did:key:zzz").error == "invalidDid"
