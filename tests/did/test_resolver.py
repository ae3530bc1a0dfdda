"""The resolver: dispatch, the DID Resolution error vocabulary, caching, key lookup."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from did.document import DIDDocument
from did.errors import (
    DIDDeactivated,
    DIDNotFound,
    GovidError,
    InvalidDID,
    InvalidDIDDocument,
    InvalidDIDURL,
    InvalidResolutionOptions,
    MalformedInput,
    MethodNotSupported,
    RepresentationNotSupported,
    ResolutionUnavailable,
    UnsupportedKeyType,
    VerificationMethodNotFound,
)
from did.identifiers import DID
from did.keys import generate_private_key, jwk_from_public_key, same_public_key, to_multikey
from did.methods import DIDJWKResolver, DIDKeyResolver, did_jwk_from_jwk, did_key_from_public_key
from did.representations import produce
from did.resolver import (
    MethodResolver,
    ResolutionOptions,
    ResolutionResult,
    Resolver,
    error_for,
    exception_for,
)

SUITE = "did-test-suite/implementations/resolver-example-didwg.json"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeMethod:
    """A did:example resolver answering from a table; counts and records its calls."""

    answers: dict[str, ResolutionResult | GovidError | Exception]
    method: str = "example"
    calls: list[tuple[str, ResolutionOptions]] = field(default_factory=list)

    def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        self.calls.append((str(did), options))
        answer = self.answers.get(str(did), DIDNotFound("no such DID"))
        if isinstance(answer, Exception):
            raise answer
        return answer


def _doc(did: str, **extra: Any) -> DIDDocument:
    return DIDDocument.from_json({"id": did, **extra})


def _resolver(*methods: MethodResolver, **kwargs: Any) -> Resolver:
    kwargs.setdefault("clock", Clock())
    return Resolver(methods, **kwargs)


# --- the DID test suite's resolver template ----------------------------------------


def test_did_test_suite_resolver_outcomes(vector: Callable[[str], Any]) -> None:
    suite = vector(SUITE)
    answers: dict[str, ResolutionResult | GovidError | Exception] = {}
    for execution in suite["executions"]:
        output = execution["output"]
        if output.get("didDocument") is not None and "error" not in output["didResolutionMetadata"]:
            answers[execution["input"]["did"]] = ResolutionResult.from_json(output)
    resolver = _resolver(FakeMethod(answers))
    for execution in suite["executions"]:
        if execution["function"] != "resolve":
            continue
        output = execution["output"]
        result = resolver.resolve(execution["input"]["did"])
        assert result.error == output["didResolutionMetadata"].get("error")
        assert result.document_metadata == output["didDocumentMetadata"]
        expected = output["didDocument"]
        assert result.did_document == (
            None if expected is None else DIDDocument.from_json(expected)
        )
    outcomes = suite["expectedOutcomes"]
    (deactivated,) = outcomes["deactivatedOutcome"]
    did = suite["executions"][deactivated]["input"]["did"]
    assert resolver.resolve(did).deactivated
    with pytest.raises(DIDDeactivated) as info:
        resolver.resolve_document(did)
    assert info.value.code == "did.deactivated"


# --- the error vocabulary -----------------------------------------------------------


@pytest.mark.parametrize(
    ("did", "options", "error", "exc"),
    [
        ("not a did", None, "invalidDid", InvalidDID),
        ("did:other:1", None, "methodNotSupported", MethodNotSupported),
        ("did:example:missing", None, "notFound", DIDNotFound),
        ("did:example:bad-doc", None, "invalidDidDocument", InvalidDIDDocument),
        ("did:example:other-id", None, "invalidDidDocument", InvalidDIDDocument),
        ("did:example:down", None, "internalError", ResolutionUnavailable),
        ("did:example:key", None, "unsupportedPublicKeyType", UnsupportedKeyType),
        ("did:example:error-result", None, "notFound", DIDNotFound),
        ("did:example:empty", None, "internalError", ResolutionUnavailable),
    ],
)
def test_errors_in_both_styles(
    did: str, options: ResolutionOptions | None, error: str, exc: type[GovidError]
) -> None:
    method = FakeMethod(
        {
            "did:example:1": ResolutionResult(_doc("did:example:1")),
            "did:example:bad-doc": InvalidDIDDocument("bad"),
            "did:example:other-id": ResolutionResult(_doc("did:example:2")),
            "did:example:down": ResolutionUnavailable("down"),
            "did:example:key": UnsupportedKeyType("rsa"),
            "did:example:error-result": ResolutionResult(None, {}, {"error": "notFound"}),
            "did:example:empty": ResolutionResult(None),
        }
    )
    resolver = _resolver(method)
    result = resolver.resolve(did, options)
    assert result.error == error
    assert result.did_document is None
    assert result.to_json()["didResolutionMetadata"]["error"] == error
    with pytest.raises(exc):
        resolver.resolve_document(did, options)


def test_bug_in_method_is_internal_error_but_propagates_from_resolve_document() -> None:
    resolver = _resolver(FakeMethod({"did:example:1": RuntimeError("bug")}))
    assert resolver.resolve("did:example:1").error == "internalError"
    with pytest.raises(RuntimeError):
        resolver.resolve_document("did:example:1")


def test_error_mapping_round_trips() -> None:
    for exc in (
        InvalidResolutionOptions("x"),
        InvalidDID("x"),
        DIDNotFound("x"),
        MethodNotSupported("x"),
        RepresentationNotSupported("x"),
        InvalidDIDDocument("x"),
        InvalidDIDURL("x"),
    ):
        assert type(exception_for(error_for(exc), "x")) is type(exc)
    assert isinstance(exception_for("somethingElse", "x"), ResolutionUnavailable)


def test_resolve_has_no_content_type_and_ignores_accept() -> None:
    # DID Core §7.1.1: accept MUST NOT be used with resolve; §7.1.2: no contentType.
    answer = ResolutionResult(_doc("did:example:1"), {}, {"contentType": "application/did+json"})
    resolver = _resolver(FakeMethod({"did:example:1": answer}))
    for accept in (None, "application/did+json", "text/html"):
        result = resolver.resolve("did:example:1", ResolutionOptions(accept=accept))
        assert result.error is None and "contentType" not in result.resolution_metadata


def _context_doc(did: str) -> DIDDocument:
    key = to_multikey(generate_private_key("EdDSA").public_key())
    return _doc(
        did,
        **{
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "verificationMethod": [
                {"id": "#k", "type": "Multikey", "controller": did, "publicKeyMultibase": key}
            ],
        },
    )


def test_resolve_representation_produces_both_json_forms() -> None:
    document = _context_doc("did:example:1")
    answer = ResolutionResult(document, {"versionId": "1"}, {})
    resolver = _resolver(FakeMethod({"did:example:1": answer}))
    plain = resolver.resolve_representation("did:example:1")
    assert plain.content_type == "application/did+json" and plain.error is None
    as_json = json.loads(plain.document_stream)
    assert "@context" not in as_json and as_json == {
        k: v for k, v in document.to_json().items() if k != "@context"
    }
    assert plain.document_metadata == {"versionId": "1"}
    ld = resolver.resolve_representation(
        "did:example:1", ResolutionOptions(accept="application/did+ld+json")
    )
    assert ld.content_type == "application/did+ld+json"
    assert json.loads(ld.document_stream) == document.to_json()
    assert DIDDocument.from_json(json.loads(plain.document_stream)).id == document.id


@pytest.mark.parametrize(
    ("did", "accept", "error"),
    [
        ("did:example:1", "text/html", "representationNotSupported"),
        ("did:example:1", "application/did+cbor", "representationNotSupported"),
        ("not a did", "text/html", "invalidDid"),  # the DID is checked first
        ("did:example:missing", None, "notFound"),
        ("did:other:1", None, "methodNotSupported"),
    ],
)
def test_resolve_representation_errors_have_an_empty_stream(
    did: str, accept: str | None, error: str
) -> None:
    resolver = _resolver(FakeMethod({"did:example:1": ResolutionResult(_doc("did:example:1"))}))
    result = resolver.resolve_representation(did, ResolutionOptions(accept=accept))
    assert (result.error, result.document_stream, dict(result.document_metadata)) == (
        error,
        b"",
        {},
    )
    assert "contentType" not in result.resolution_metadata


def test_ld_representation_gets_a_context_when_the_document_has_none() -> None:
    key = to_multikey(generate_private_key("EdDSA").public_key())
    bare = _doc(
        "did:example:1",
        verificationMethod=[
            {
                "id": "#k",
                "type": "Multikey",
                "controller": "did:example:1",
                "publicKeyMultibase": key,
            }
        ],
    )
    ld = json.loads(produce(bare, "application/did+ld+json"))
    assert ld["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    with pytest.raises(ValueError):
        produce(bare, "text/html")


# --- results and options -------------------------------------------------------------


def test_resolution_result_json_round_trip() -> None:
    result = ResolutionResult(
        _doc("did:example:1"), {"versionId": "3"}, {"contentType": "application/did+json"}
    )
    as_json = result.to_json()
    assert set(as_json) == {"didDocument", "didDocumentMetadata", "didResolutionMetadata"}
    assert ResolutionResult.from_json(as_json) == result
    with pytest.raises(TypeError):
        result.document_metadata["deactivated"] = True  # type: ignore[index]
    bad_values: list[object] = [None, {"didDocumentMetadata": []}, {"didDocument": {"id": "x"}}]
    for bad in bad_values:
        with pytest.raises(InvalidDIDDocument):
            ResolutionResult.from_json(bad)


def test_options_from_query() -> None:
    options = ResolutionOptions.from_query(
        {"versionId": "2", "versionTime": "2026-01-01T00:00:00Z"}
    )
    assert options == ResolutionOptions(version_id="2", version_time=T0)
    for bad in ("yesterday", "2026-01-01T00:00:00"):  # the second has no time zone
        with pytest.raises(InvalidResolutionOptions):
            ResolutionOptions.from_query({"versionTime": bad})
    with pytest.raises(MalformedInput):
        ResolutionOptions(version_time=datetime(2026, 1, 1))  # naive: the point
    assert error_for(InvalidResolutionOptions("x")) == "invalidOptions"


def test_options_reach_the_method() -> None:
    method = FakeMethod({"did:example:1": ResolutionResult(_doc("did:example:1"))})
    options = ResolutionOptions(version_id="7", version_time=T0)
    _resolver(method).resolve("did:example:1", options)
    assert method.calls == [("did:example:1", options)]


def test_duplicate_and_bad_registrations() -> None:
    with pytest.raises(ValueError):
        _resolver(DIDKeyResolver(), DIDKeyResolver())
    with pytest.raises(ValueError):
        _resolver(DIDKeyResolver(), max_cache_entries=-1)
    assert _resolver(DIDKeyResolver(), DIDJWKResolver()).methods == ("jwk", "key")


# --- the cache -------------------------------------------------------------------------


def _counting(*dids: str) -> FakeMethod:
    return FakeMethod({d: ResolutionResult(_doc(d)) for d in dids})


def test_cache_hits_until_ttl_expires() -> None:
    clock, method = Clock(), _counting("did:example:1")
    resolver = _resolver(method, clock=clock, cache_ttl=timedelta(minutes=5))
    first = resolver.resolve("did:example:1")
    clock.now = T0 + timedelta(minutes=4, seconds=59)
    assert resolver.resolve("did:example:1") is first
    assert len(method.calls) == 1
    clock.now = T0 + timedelta(minutes=5)
    resolver.resolve("did:example:1")
    assert len(method.calls) == 2


def test_cache_is_keyed_by_options_and_bypassable() -> None:
    method = _counting("did:example:1")
    resolver = _resolver(method)
    resolver.resolve("did:example:1")
    resolver.resolve("did:example:1", ResolutionOptions(version_id="1"))
    resolver.resolve("did:example:1", ResolutionOptions(no_cache=True))
    resolver.resolve("did:example:1")
    assert len(method.calls) == 3
    resolver.clear_cache()
    resolver.resolve("did:example:1")
    assert len(method.calls) == 4


def test_cache_is_a_bounded_lru() -> None:
    method = _counting("did:example:1", "did:example:2", "did:example:3")
    resolver = _resolver(method, max_cache_entries=2)
    for did in ("did:example:1", "did:example:2", "did:example:1", "did:example:3"):
        resolver.resolve(did)
    assert len(method.calls) == 3
    resolver.resolve("did:example:1")  # recently used: kept
    assert len(method.calls) == 3
    resolver.resolve("did:example:2")  # least recently used: evicted
    assert len(method.calls) == 4


def test_errors_are_not_cached_and_zero_ttl_disables_the_cache() -> None:
    method = _counting()
    resolver = _resolver(method)
    resolver.resolve("did:example:1")
    resolver.resolve("did:example:1")
    assert len(method.calls) == 2
    method = _counting("did:example:1")
    uncached = _resolver(method, cache_ttl=timedelta(0))
    uncached.resolve("did:example:1")
    uncached.resolve("did:example:1")
    assert len(method.calls) == 2


# --- resolve_verification_key --------------------------------------------------------------


def test_verification_key_from_did_key() -> None:
    key = generate_private_key("EdDSA").public_key()
    did = did_key_from_public_key(key)
    resolver = _resolver(DIDKeyResolver(), DIDJWKResolver())
    kid = f"{did}#{to_multikey(key)}"
    assert same_public_key(resolver.resolve_verification_key(kid, issuer=did), key)
    assert same_public_key(resolver.resolve_verification_key(kid, issuer=None), key)
    relative = f"#{to_multikey(key)}"
    assert same_public_key(resolver.resolve_verification_key(relative, issuer=did), key)
    assert same_public_key(
        resolver.resolve_verification_key(relative, issuer=did, relationship="authentication"), key
    )


def test_verification_key_refusals() -> None:
    key = generate_private_key("ES256").public_key()
    issuer = did_jwk_from_jwk(jwk_from_public_key(key))
    other = did_jwk_from_jwk(jwk_from_public_key(generate_private_key("ES256").public_key()))
    enc_only = did_jwk_from_jwk(dict(jwk_from_public_key(key), use="enc"))
    resolver = _resolver(DIDKeyResolver(), DIDJWKResolver())
    cases: dict[str, tuple[Callable[[], object], type[GovidError]]] = {
        "kid-of-another-did": (
            lambda: resolver.resolve_verification_key(f"{other}#0", issuer=issuer),
            VerificationMethodNotFound,
        ),
        "relative-without-issuer": (
            lambda: resolver.resolve_verification_key("#0", issuer=None),
            InvalidDIDURL,
        ),
        "unknown-fragment": (
            lambda: resolver.resolve_verification_key("#1", issuer=issuer),
            VerificationMethodNotFound,
        ),
        "bare-did": (
            lambda: resolver.resolve_verification_key(issuer, issuer=issuer),
            VerificationMethodNotFound,
        ),
        "wrong-relationship": (
            lambda: resolver.resolve_verification_key("#0", issuer=enc_only),
            VerificationMethodNotFound,
        ),
        "issuer-not-a-did": (
            lambda: resolver.resolve_verification_key("#0", issuer="https://agency"),
            InvalidDID,
        ),
        "kid-garbage": (
            lambda: resolver.resolve_verification_key("key-1", issuer=issuer),
            InvalidDIDURL,
        ),
        "unsupported-method": (
            lambda: resolver.resolve_verification_key("did:web:example.com#k", issuer=None),
            MethodNotSupported,
        ),
    }
    for name, (call, error) in cases.items():
        with pytest.raises(error) as info:
            call()
        assert info.value.code == error.code, name
    found = resolver.resolve_verification_key("#0", issuer=enc_only, relationship="keyAgreement")
    assert same_public_key(found, key)


def test_verification_key_at_a_time_and_deactivation() -> None:
    key = generate_private_key("EdDSA").public_key()
    vm = {
        "id": "did:example:1#k",
        "type": "Multikey",
        "controller": "did:example:1",
        "publicKeyMultibase": to_multikey(key),
    }
    doc = _doc("did:example:1", verificationMethod=[vm], assertionMethod=["#k"])
    method = FakeMethod(
        {
            "did:example:1": ResolutionResult(doc),
            "did:example:gone": ResolutionResult(_doc("did:example:gone"), {"deactivated": True}),
        }
    )
    resolver = _resolver(method)
    found = resolver.resolve_verification_key("#k", issuer="did:example:1", at=T0)
    assert same_public_key(found, key)
    assert method.calls[-1][1].version_time == T0
    with pytest.raises(DIDDeactivated):
        resolver.resolve_verification_key("#k", issuer="did:example:gone")
