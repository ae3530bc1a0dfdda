"""DID documents (DID Core §5): vectors, strict parsing, relationships, round trips."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multicodec

from did.document import (
    DID_CONTEXT_V1,
    JSON_WEB_KEY,
    JWK_CONTEXT,
    MAX_VERIFICATION_METHODS,
    MULTIKEY,
    MULTIKEY_CONTEXT,
    RELATIONSHIPS,
    DIDDocument,
    Service,
    VerificationMethod,
    default_context,
)
from did.errors import (
    InvalidDIDDocument,
    InvalidDIDURL,
    UnsupportedKeyType,
    VerificationMethodNotFound,
)
from did.identifiers import DID, DIDURL
from did.keys import (
    generate_private_key,
    jwk_from_private_key,
    jwk_from_public_key,
    multibase_base58btc_encode,
    private_to_multikey,
    same_public_key,
    to_multikey,
)
from did.methods.web import parse_document_bytes

SUITE = "did-test-suite/implementations/did-example-didwg.json"
WEB = "did-web/did_web_spec_examples.json"

ED = generate_private_key("EdDSA").public_key()
P256 = generate_private_key("ES256").public_key()


def _doc(**extra: Any) -> dict[str, Any]:
    """A small valid document: one Multikey, one JsonWebKey, a service."""
    doc: dict[str, Any] = {
        "@context": [DID_CONTEXT_V1, MULTIKEY_CONTEXT, JWK_CONTEXT],
        "id": "did:ex:1",
        "verificationMethod": [
            {
                "id": "did:ex:1#a",
                "type": MULTIKEY,
                "controller": "did:ex:1",
                "publicKeyMultibase": to_multikey(ED),
            },
            {
                "id": "did:ex:1#b",
                "type": JSON_WEB_KEY,
                "controller": "did:ex:1",
                "publicKeyJwk": jwk_from_public_key(P256),
            },
        ],
        "authentication": ["did:ex:1#a"],
        "assertionMethod": ["did:ex:1#a", "did:ex:1#b"],
        "service": [
            {"id": "did:ex:1#svc", "type": "LinkedDomains", "serviceEndpoint": "https://ex.org"}
        ],
    }
    doc.update(extra)
    return doc


# --- vectors --------------------------------------------------------------------


def test_did_test_suite_document(vector: Callable[[str], Any]) -> None:
    entry = vector(SUITE)["did:example:123"]
    properties = entry["didDocumentDataModel"]["properties"]
    doc = DIDDocument.from_json(properties)
    # Relative references resolve against the document id (DID Core §3.2.2).
    key0 = doc.find_verification_method("#key-0", "assertionMethod")
    assert str(key0.id) == "did:example:123#key-0"
    assert key0.type == JSON_WEB_KEY  # JsonWebKey2020 read as JsonWebKey
    assert doc.find_verification_method("did:example:123#key-1", "keyAgreement").id.fragment == (
        "key-1"
    )
    with pytest.raises(UnsupportedKeyType):  # X25519 is kept but cannot verify
        doc.find_verification_method("#key-1", "keyAgreement").public_key()
    assert doc.extensions["bespokeDouble"] == 1.2
    assert doc.extensions["bespokeNull"] is None
    # The JSON representation in the same file describes the same document.
    representation = json.loads(entry["application/did+json"]["representation"])
    assert DIDDocument.from_json(representation) == doc
    assert DIDDocument.from_json(doc.to_json()) == doc


def test_did_web_example_document(vector: Callable[[str], Any]) -> None:
    text = vector(WEB)["examples"][0]["text"]
    # The published example has a trailing comma: not JSON, and refused as such.
    with pytest.raises(InvalidDIDDocument):
        parse_document_bytes(text.encode())
    doc = parse_document_bytes(text.replace("},\n  ],", "}\n  ],").encode())
    assert [vm.type for vm in doc.verification_method] == [JSON_WEB_KEY] * 3
    doc.find_verification_method("#key-2", "assertionMethod").public_key()
    with pytest.raises(VerificationMethodNotFound) as info:
        doc.find_verification_method("#key-1", "assertionMethod")
    assert info.value.code == "did.verification_method_not_found"


def test_unsupported_method_type_is_refused(vector: Callable[[str], Any]) -> None:
    ethereum = vector(WEB)["examples"][1]["json"]
    with pytest.raises(InvalidDIDDocument) as info:
        DIDDocument.from_json(ethereum)
    assert info.value.code == "did_document.invalid"


def test_legacy_types_become_multikey_and_jsonwebkey(vector: Callable[[str], Any]) -> None:
    vectors = vector("did-key/w3c-ccg-did-method-key-2022/ed25519-x25519.json")
    for did, entry in vectors.items():
        base = DID.parse(did)
        vm_json = entry["didDocument"]["verificationMethod"][0]
        vm = VerificationMethod.from_json(vm_json, base=base)
        assert vm.type in (MULTIKEY, JSON_WEB_KEY)
        if vm.type == MULTIKEY:
            assert vm.public_key_multibase == did.removeprefix("did:key:")
        assert to_multikey(vm.public_key()) == did.removeprefix("did:key:")
    legacy_2020 = {
        "id": "#k",
        "type": "Ed25519VerificationKey2020",
        "controller": "did:ex:1",
        "publicKeyMultibase": to_multikey(ED),
    }
    vm = VerificationMethod.from_json(legacy_2020, base=DID.parse("did:ex:1"))
    assert (vm.type, vm.public_key_multibase) == (MULTIKEY, to_multikey(ED))
    with pytest.raises(InvalidDIDDocument):
        VerificationMethod.from_json(
            dict(legacy_2020, publicKeyMultibase=to_multikey(P256)), base=DID.parse("did:ex:1")
        )


# --- the normal form and round trips ------------------------------------------------


def test_round_trip_of_normal_form() -> None:
    raw = _doc(controller="did:ex:2", alsoKnownAs=["https://agency.example"])
    doc = DIDDocument.from_json(raw)
    assert doc.to_json() == raw
    assert DIDDocument.from_json(doc.to_json()) == doc
    assert same_public_key(doc.find_verification_method("#b").public_key(), P256)


def test_relative_ids_are_made_absolute() -> None:
    raw = _doc()
    raw["verificationMethod"][0]["id"] = "#a"
    raw["authentication"] = ["#a"]
    raw["service"][0]["id"] = "#svc"
    doc = DIDDocument.from_json(raw)
    assert doc.to_json() == _doc()


def test_embedded_methods_and_lists() -> None:
    embedded = {
        "id": "did:ex:1#c",
        "type": MULTIKEY,
        "controller": "did:ex:1",
        "publicKeyMultibase": to_multikey(ED),
    }
    raw = _doc(
        controller=["did:ex:2", "did:ex:3"],
        capabilityInvocation=[embedded],
        service=[{"id": "urn:x:1", "type": ["A", "B"], "serviceEndpoint": [{"uri": "x"}, "y"]}],
    )
    doc = DIDDocument.from_json(raw)
    assert doc.to_json() == raw
    found = doc.find_verification_method("#c", "capabilityInvocation")
    assert isinstance(found, VerificationMethod) and found.id.fragment == "c"
    with pytest.raises(VerificationMethodNotFound):
        doc.find_verification_method("#c", "assertionMethod")
    assert [vm.id.fragment for vm in doc.all_verification_methods()] == ["a", "b", "c"]


def test_find_refuses_another_did_and_bad_refs() -> None:
    doc = DIDDocument.from_json(_doc())
    with pytest.raises(VerificationMethodNotFound):
        doc.find_verification_method("did:ex:2#a")
    with pytest.raises(VerificationMethodNotFound):
        doc.find_verification_method("#nope")
    with pytest.raises(VerificationMethodNotFound):
        doc.find_verification_method("#b", "authentication")
    with pytest.raises(InvalidDIDURL):
        doc.find_verification_method("not a url")
    with pytest.raises(ValueError):
        doc.relationship("signing")  # type: ignore[arg-type]
    assert doc.find_verification_method(DIDURL.parse("did:ex:1#a"), "authentication").id == (
        DIDURL.parse("did:ex:1#a")
    )


def test_document_without_context_is_plain_json() -> None:
    raw = _doc()
    del raw["@context"]
    doc = DIDDocument.from_json(raw)
    assert doc.context is None and "@context" not in doc.to_json()
    assert DIDDocument.from_json(dict(raw, **{"@context": DID_CONTEXT_V1})).context == (
        DID_CONTEXT_V1,
    )


def test_from_public_key_and_default_context() -> None:
    did = DID.parse("did:ex:1")
    multikey = VerificationMethod.from_public_key(ED, id=did.with_fragment("a"), controller=did)
    jwk = VerificationMethod.from_public_key(
        P256, id=did.with_fragment("b"), controller=did, type=JSON_WEB_KEY
    )
    assert same_public_key(multikey.public_key(), ED)
    assert same_public_key(jwk.public_key(), P256)
    assert default_context((multikey,)) == (DID_CONTEXT_V1, MULTIKEY_CONTEXT)
    assert default_context((multikey, jwk)) == (DID_CONTEXT_V1, MULTIKEY_CONTEXT, JWK_CONTEXT)
    with pytest.raises(ValueError):
        VerificationMethod.from_public_key(ED, id=did.with_fragment("c"), controller=did, type="X")
    doc = DIDDocument(id=did, verification_method=(multikey, jwk), assertion_method=(jwk.id,))
    assert DIDDocument.from_json(doc.to_json()) == doc


# --- strictness: each tampering names its error code ---------------------------------


def _tampered() -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}

    def case(name: str, change: Callable[[dict[str, Any]], None]) -> None:
        raw = copy.deepcopy(_doc())
        change(raw)
        cases[name] = raw

    vm = "verificationMethod"
    case("id-not-a-did", lambda d: d.update(id="https://ex.org"))
    case("id-missing", lambda d: d.pop("id"))
    case("id-is-did-url", lambda d: d.update(id="did:ex:1#x"))
    case("duplicate-method-id", lambda d: d[vm].append(copy.deepcopy(d[vm][0])))
    case(
        "duplicate-via-relative-id",
        lambda d: d[vm].append(dict(copy.deepcopy(d[vm][0]), id="#a")),
    )
    case("dangling-reference", lambda d: d["authentication"].append("#zzz"))
    case("reference-to-other-did", lambda d: d["authentication"].append("did:ex:2#a"))
    case("reference-not-url", lambda d: d["authentication"].append("a"))
    case("reference-not-string", lambda d: d["authentication"].append(5))
    case("relationship-not-list", lambda d: d.update(authentication="did:ex:1#a"))
    case("method-id-relative-path", lambda d: d[vm][0].update(id="a"))
    case("method-controller-missing", lambda d: d[vm][0].pop("controller"))
    case("method-controller-not-did", lambda d: d[vm][0].update(controller="ex"))
    case("method-type-missing", lambda d: d[vm][0].pop("type"))
    case("method-unknown-type", lambda d: d[vm][0].update(type="RsaVerificationKey2018"))
    case("method-not-object", lambda d: d[vm].append("did:ex:1#a"))
    case("multikey-with-jwk-too", lambda d: d[vm][0].update(publicKeyJwk=d[vm][1]["publicKeyJwk"]))
    case("multikey-with-jwk-only", lambda d: d[vm][0].update(type=JSON_WEB_KEY))
    case("multikey-bad-multibase", lambda d: d[vm][0].update(publicKeyMultibase="zzz0"))
    case("multikey-not-string", lambda d: d[vm][0].update(publicKeyMultibase=7))
    case("multikey-flipped-bit", lambda d: d[vm][0].update(publicKeyMultibase="z6Mk" + "1" * 44))
    case(
        "jwk-with-private-key",
        lambda d: d[vm][1].update(publicKeyJwk=jwk_from_private_key(generate_private_key("ES256"))),
    )
    case(
        "jwk-off-curve", lambda d: d[vm][1]["publicKeyJwk"].update(y=d[vm][1]["publicKeyJwk"]["x"])
    )
    case("jwk-not-object", lambda d: d[vm][1].update(publicKeyJwk="{}"))
    case("secret-key-multibase", lambda d: d[vm][0].update(secretKeyMultibase="z1"))
    case(
        "multikey-holding-private-key",
        lambda d: d[vm][0].update(
            publicKeyMultibase=private_to_multikey(generate_private_key("EdDSA"))
        ),
    )
    case(
        "multikey-not-a-key-codec",
        lambda d: d[vm][0].update(
            publicKeyMultibase=multibase_base58btc_encode(multicodec.wrap("sha2-256", b"\x01" * 32))
        ),
    )
    case("context-not-did-first", lambda d: d.update({"@context": [MULTIKEY_CONTEXT]}))
    case("context-empty", lambda d: d.update({"@context": []}))
    case("context-number", lambda d: d.update({"@context": [DID_CONTEXT_V1, 5]}))
    case("controller-not-did", lambda d: d.update(controller=["did:ex:2", "x"]))
    case("also-known-as-not-uri", lambda d: d.update(alsoKnownAs=["not a uri"]))
    case("service-duplicate-id", lambda d: d["service"].append(copy.deepcopy(d["service"][0])))
    case("service-no-endpoint", lambda d: d["service"][0].pop("serviceEndpoint"))
    case("service-empty-endpoint", lambda d: d["service"][0].update(serviceEndpoint=""))
    case("service-endpoint-number", lambda d: d["service"][0].update(serviceEndpoint=[1]))
    case("service-type-empty-list", lambda d: d["service"][0].update(type=[]))
    case("service-id-not-uri", lambda d: d["service"][0].update(id="svc"))
    case(
        "too-many-methods",
        lambda d: d.update(
            verificationMethod=[
                dict(copy.deepcopy(d[vm][0]), id=f"#k{i}")
                for i in range(MAX_VERIFICATION_METHODS + 1)
            ],
            authentication=[],
            assertionMethod=[],
        ),
    )
    return cases


@pytest.mark.parametrize("name", list(_tampered()))
def test_tampered_documents_are_refused(name: str) -> None:
    with pytest.raises(InvalidDIDDocument) as info:
        DIDDocument.from_json(_tampered()[name])
    assert info.value.code == "did_document.invalid"


@pytest.mark.parametrize("value", [None, [], "did:ex:1", 5, {1: "x"}])
def test_non_objects_are_refused(value: Any) -> None:
    with pytest.raises(InvalidDIDDocument):
        DIDDocument.from_json(value)


def test_hand_built_documents_are_checked_too() -> None:
    did = DID.parse("did:ex:1")
    with pytest.raises(InvalidDIDDocument):
        DIDDocument(id=did, assertion_method=(did.with_fragment("missing"),))
    service = Service.from_json({"id": "#s", "type": "T", "serviceEndpoint": "https://x"}, base=did)
    with pytest.raises(InvalidDIDDocument):
        DIDDocument(id=did, service=(service, service))


# --- property: serialize ∘ parse is the identity on documents -------------------------

_KEYS = [generate_private_key(alg).public_key() for alg in ("EdDSA", "ES256", "ES384", "ES256K")]


@st.composite
def documents(draw: st.DrawFn) -> DIDDocument:
    did = DID.parse(draw(st.sampled_from(["did:ex:1", "did:web:example.com:a", "did:key:z1"])))
    fragments = draw(st.lists(st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True), unique=True))
    methods = [
        VerificationMethod.from_public_key(
            draw(st.sampled_from(_KEYS)),
            id=did.with_fragment(f),
            controller=did,
            type=draw(st.sampled_from([MULTIKEY, JSON_WEB_KEY])),
        )
        for f in fragments
    ]
    listed = [m for m in methods if draw(st.booleans())]
    embedded = [m for m in methods if m not in listed]
    relationships: dict[str, list[Any]] = {name: [] for name in RELATIONSHIPS}
    for method in embedded:
        relationships[draw(st.sampled_from(RELATIONSHIPS))].append(method)
    for method in listed:
        for name in RELATIONSHIPS:
            if draw(st.booleans()):
                relationships[name].append(method.id)
    return DIDDocument(
        id=did,
        context=draw(st.sampled_from([None, default_context(tuple(methods))])),
        controller=tuple(draw(st.lists(st.sampled_from([did, DID.parse("did:ex:2")]), max_size=2))),
        verification_method=tuple(listed),
        authentication=tuple(relationships["authentication"]),
        assertion_method=tuple(relationships["assertionMethod"]),
        key_agreement=tuple(relationships["keyAgreement"]),
        capability_invocation=tuple(relationships["capabilityInvocation"]),
        capability_delegation=tuple(relationships["capabilityDelegation"]),
    )


@given(documents())
def test_serialize_then_parse_is_identity(doc: DIDDocument) -> None:
    as_json = doc.to_json()
    parsed = DIDDocument.from_json(json.loads(json.dumps(as_json)))
    assert parsed == doc
    assert parsed.to_json() == as_json
    for name in RELATIONSHIPS:
        for entry in doc.relationship(name):
            ref = entry.id if isinstance(entry, VerificationMethod) else entry
            assert parsed.find_verification_method(ref.relative_to(doc.id), name).id == ref
