"""did:key, did:jwk and did:web against their specifications' vectors, plus refusals."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multicodec

import did.methods
from did.document import JSON_WEB_KEY, MULTIKEY, RELATIONSHIPS, DIDDocument, VerificationMethod
from did.encoding import b64url_encode
from did.errors import (
    DIDNotFound,
    GovidError,
    InvalidDID,
    InvalidDIDDocument,
    InvalidKey,
    ResolutionUnavailable,
    UnsupportedKeyType,
)
from did.identifiers import DID
from did.keys import (
    generate_private_key,
    jwk_from_private_key,
    jwk_from_public_key,
    multibase_base58btc_decode,
    multibase_base58btc_encode,
    public_key_bytes,
    public_key_from_jwk,
    same_public_key,
    to_multikey,
)
from did.methods import (
    DIDJWKResolver,
    DIDKeyResolver,
    DIDWebResolver,
    did_jwk_from_jwk,
    did_key_from_public_key,
    did_web_url,
    jwk_from_did_jwk,
    public_key_from_did_key,
)
from did.methods.key import x25519_from_ed25519
from did.resolver import ResolutionOptions, Resolver
from service.fetch import Fetcher, FetchPolicy

KEY_2025 = "did-key/did-key-spec-2025"
KEY_2022 = "did-key/w3c-ccg-did-method-key-2022"
NORMALIZED = "did-key/did_key_vectors_normalized.json"
JWK_VECTORS = "did-jwk/did_jwk_spec_examples.json"
WEB_VECTORS = "did-web/did_web_spec_examples.json"
SIGNING = {"authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation"}
ALGS = ("EdDSA", "ES256", "ES384", "ES256K")
NO_OPTIONS = ResolutionOptions()


def test_methods_all_is_sorted() -> None:
    assert did.methods.__all__ == sorted(did.methods.__all__)


def _relationships_of(doc: DIDDocument, vm_id: str) -> set[str]:
    return {
        name
        for name in RELATIONSHIPS
        for e in doc.relationship(name)
        if str(getattr(e, "id", e)) == vm_id
    }


# --- did:key --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["example02.json", "example04.json"])
def test_did_key_2025_documents_exactly(vector: Callable[[str], Any], name: str) -> None:
    expected = vector(f"{KEY_2025}/{name}")
    did = DID.parse(expected["id"])
    derived = DIDKeyResolver(derive_key_agreement=True).resolve(did, NO_OPTIONS)
    assert derived.did_document is not None
    assert derived.did_document.to_json() == expected
    plain = DIDKeyResolver().resolve(did, NO_OPTIONS).did_document
    assert plain is not None
    assert plain.to_json() == {k: v for k, v in expected.items() if k != "keyAgreement"}


def test_did_key_encryption_key_derivation_is_a_resolution_option(
    vector: Callable[[str], Any],
) -> None:
    # did:key §3.1.2 `enableEncryptionKeyDerivation`: off unless asked, per resolution.
    expected = vector(f"{KEY_2025}/example04.json")
    resolver = Resolver([DIDKeyResolver()], clock=lambda: datetime.now(UTC))
    asked = resolver.resolve(
        expected["id"], ResolutionOptions(enable_encryption_key_derivation=True)
    )
    assert asked.did_document is not None and asked.did_document.to_json() == expected
    plain = resolver.resolve(expected["id"])  # after the derived one: not served from the cache
    assert plain.did_document is not None and not plain.did_document.key_agreement
    # Only Ed25519 keys have an X25519 form; other curves are unchanged.
    p256 = did_key_from_public_key(generate_private_key("ES256").public_key())
    other = resolver.resolve(p256, ResolutionOptions(enable_encryption_key_derivation=True))
    assert other.did_document is not None and not other.did_document.key_agreement


def test_did_key_p521_resolves() -> None:
    key = generate_private_key("ES512").public_key()
    did = did_key_from_public_key(key)
    assert did.startswith("did:key:z2J9")
    doc = DIDKeyResolver().document(DID.parse(did))
    assert same_public_key(doc.verification_method[0].public_key(), key)


@pytest.mark.parametrize(
    "name", ["example01.txt", "example03.txt", "example05.txt", "example07.txt", "example08.txt"]
)
def test_did_key_2025_dids_resolve(vector_text: Callable[[str], str], name: str) -> None:
    for line in vector_text(f"{KEY_2025}/{name}").split():
        doc = DIDKeyResolver().document(DID.parse(line))
        vm = doc.verification_method[0]
        assert str(vm.id) == f"{line}#{line.removeprefix('did:key:')}"
        assert vm.type == MULTIKEY
        assert _relationships_of(doc, str(vm.id)) == SIGNING
        assert did_key_from_public_key(vm.public_key()) == line


def test_did_key_2025_bls_example_is_unsupported(vector_text: Callable[[str], str]) -> None:
    with pytest.raises(UnsupportedKeyType):
        public_key_from_did_key(vector_text(f"{KEY_2025}/example06.txt").strip())


SUPPORTED_KEY_CODECS = ("ed25519-pub", "p256-pub", "p384-pub", "p521-pub", "secp256k1-pub")


def test_did_key_normalized_vectors(vector: Callable[[str], Any]) -> None:
    resolver = DIDKeyResolver(derive_key_agreement=True)
    for row in vector(NORMALIZED):
        did = DID.parse(row["did"])
        if row["multicodec"] not in SUPPORTED_KEY_CODECS:
            with pytest.raises(UnsupportedKeyType):
                resolver.document(did)
            continue
        doc = resolver.document(did)
        key = doc.find_verification_method(f"#{did.method_specific_id}").public_key()
        assert public_key_bytes(key).hex() == row["raw_public_key_hex_computed"]
        if "public_jwk_computed" in row:  # not given for the P-521 rows
            assert jwk_from_public_key(key) == row["public_jwk_computed"]
        if "x25519_keyagreement_multibase_computed" in row:
            agreement = doc.key_agreement[0]
            assert isinstance(agreement, VerificationMethod)
            expected = row["x25519_keyagreement_multibase_computed"]
            assert agreement.public_key_multibase == expected


def test_did_key_2022_documents_key_material(vector: Callable[[str], Any]) -> None:
    """The 2022 vectors use old method types: compare the keys, not the documents."""
    for did_text, entry in vector(f"{KEY_2022}/ed25519-x25519.json").items():
        ours = DIDKeyResolver(derive_key_agreement=True).document(DID.parse(did_text))
        theirs = entry["didDocument"]
        signing = theirs["verificationMethod"][0]
        ours_key = ours.find_verification_method(signing["id"]).public_key()
        if "publicKeyBase58" in signing:
            raw = multibase_base58btc_decode("z" + signing["publicKeyBase58"])
            assert public_key_bytes(ours_key) == raw
        else:
            assert same_public_key(ours_key, public_key_from_jwk(signing["publicKeyJwk"]))
        agreement = theirs["verificationMethod"][1]
        ours_agreement = ours.key_agreement[0]
        assert str(getattr(ours_agreement, "id", "")) == agreement["id"]
        multibase = getattr(ours_agreement, "public_key_multibase", "")
        raw_x25519 = multicodec.unwrap(multibase_base58btc_decode(multibase))[1]
        if "publicKeyBase58" in agreement:
            assert raw_x25519 == multibase_base58btc_decode("z" + agreement["publicKeyBase58"])
        else:
            assert b64url_encode(raw_x25519) == agreement["publicKeyJwk"]["x"]
        assert {
            name for name in RELATIONSHIPS if theirs.get(name) == [signing["id"]]
        } == _relationships_of(ours, signing["id"])


@given(st.sampled_from(ALGS), st.data())
def test_did_key_round_trip(alg: str, data: st.DataObject) -> None:
    key = generate_private_key(alg).public_key()
    did_text = did_key_from_public_key(key)
    assert same_public_key(public_key_from_did_key(did_text), key)
    doc = DIDKeyResolver().document(DID.parse(did_text))
    relationship = data.draw(st.sampled_from(sorted(SIGNING)))
    found = doc.find_verification_method(f"#{to_multikey(key)}", relationship)  # type: ignore[arg-type]
    assert same_public_key(found.public_key(), key)


def _bad_did_keys() -> dict[str, tuple[str, type[GovidError]]]:
    key = generate_private_key("ES256").public_key()
    compressed = public_key_bytes(key)

    def mk(codec: str, raw: bytes) -> str:
        return "did:key:" + multibase_base58btc_encode(multicodec.wrap(codec, raw))

    multikey = to_multikey(key)
    return {
        "not-base58btc": (
            "did:key:u" + b64url_encode(multicodec.wrap("p256-pub", compressed)),
            InvalidDID,
        ),
        "version-prefix": (f"did:key:1:{multikey}", InvalidDID),
        "bad-base58": ("did:key:z0OIl", InvalidDID),
        "unknown-codec": (
            "did:key:" + multibase_base58btc_encode(b"\xff\xff\xff\x0f" + compressed),
            InvalidDID,
        ),
        "wrong-length": (mk("p256-pub", compressed[:-1]), InvalidKey),
        "uncompressed": (mk("p256-pub", b"\x04" + compressed[1:] * 2), InvalidKey),
        "unsupported": (mk("x25519-pub", b"\x09" * 32), UnsupportedKeyType),
        "private-key": (mk("ed25519-priv", b"\x09" * 32), UnsupportedKeyType),
        "other-method": (f"did:jwk:{multikey}", InvalidDID),
    }


@pytest.mark.parametrize("name", list(_bad_did_keys()))
def test_bad_did_keys_are_refused(name: str) -> None:
    text, error = _bad_did_keys()[name]
    with pytest.raises(error):
        DIDKeyResolver().resolve(DID.parse(text), NO_OPTIONS)


def test_x25519_derivation_refuses_degenerate_keys() -> None:
    with pytest.raises(InvalidKey):
        x25519_from_ed25519(b"\x01" + b"\x00" * 31)  # y = 1: the identity, no u
    with pytest.raises(InvalidKey):
        x25519_from_ed25519(b"\x00" * 31)


# --- did:jwk --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["P-256", "X25519"])
def test_did_jwk_spec_examples(vector: Callable[[str], Any], name: str) -> None:
    example = vector(JWK_VECTORS)["examples"][name]
    assert jwk_from_did_jwk(example["did"]) == example["jwk_decoded_from_did"]
    assert did_jwk_from_jwk(example["jwk_decoded_from_did"]) == example["did"]
    result = DIDJWKResolver().resolve(DID.parse(example["did"]), NO_OPTIONS)
    ours = result.did_document
    assert ours is not None
    expected = example["did_document_expected_corrected"]
    vm = ours.verification_method[0]
    assert str(vm.id) == example["did_url"] and vm.type == JSON_WEB_KEY
    assert vm.public_key_jwk == expected["verificationMethod"][0]["publicKeyJwk"]
    expected_relationships = {n for n in RELATIONSHIPS if expected.get(n) == [example["did_url"]]}
    assert _relationships_of(ours, example["did_url"]) == expected_relationships
    # The corrected published document (JsonWebKey2020) parses to the same keys.
    assert DIDDocument.from_json(expected).verification_method[0].public_key_jwk == (
        vm.public_key_jwk
    )


def test_did_jwk_published_typo_is_refused(vector: Callable[[str], Any]) -> None:
    published = vector(JWK_VECTORS)["examples"]["P-256"]["did_document_as_published"]
    with pytest.raises(InvalidDIDDocument):  # "did:jwk:$eyJ..." is not a DID URL
        DIDDocument.from_json(published)


@given(st.sampled_from(ALGS))
def test_did_jwk_round_trip(alg: str) -> None:
    key = generate_private_key(alg).public_key()
    jwk = jwk_from_public_key(key)
    did_text = did_jwk_from_jwk(jwk)
    assert jwk_from_did_jwk(did_text) == jwk
    doc = DIDJWKResolver().document(DID.parse(did_text))
    assert same_public_key(doc.find_verification_method("#0").public_key(), key)
    assert _relationships_of(doc, f"{did_text}#0") == SIGNING | {"keyAgreement"}


@pytest.mark.parametrize(("use", "expected"), [("sig", SIGNING), ("enc", {"keyAgreement"})])
def test_did_jwk_use_picks_relationships(use: str, expected: set[str]) -> None:
    jwk = dict(jwk_from_public_key(generate_private_key("EdDSA").public_key()), use=use)
    did_text = did_jwk_from_jwk(jwk)
    doc = DIDJWKResolver().document(DID.parse(did_text))
    assert _relationships_of(doc, f"{did_text}#0") == expected


def _did_jwk_of_bytes(raw: bytes) -> str:
    return "did:jwk:" + b64url_encode(raw)


def _bad_did_jwks() -> dict[str, tuple[str, type[GovidError]]]:
    jwk = jwk_from_public_key(generate_private_key("ES256").public_key())
    good = json.dumps(jwk)
    private = json.dumps(jwk_from_private_key(generate_private_key("ES256")))
    canonical = did_jwk_from_jwk(jwk)
    last = canonical[-1]
    flipped = canonical[:-1] + ("B" if last == "A" else "A")
    return {
        "private-key": (_did_jwk_of_bytes(private.encode()), InvalidDID),
        "duplicate-member": (_did_jwk_of_bytes(good[:-1].encode() + b', "kty": "EC"}'), InvalidDID),
        "not-json": (_did_jwk_of_bytes(b"not json"), InvalidDID),
        "json-array": (_did_jwk_of_bytes(b"[1]"), InvalidDID),
        "nan": (_did_jwk_of_bytes(b'{"kty": NaN}'), InvalidDID),
        "not-utf8": (_did_jwk_of_bytes(b"\xff\xfe"), InvalidDID),
        "bad-use": (_did_jwk_of_bytes(json.dumps(dict(jwk, use="x")).encode()), InvalidDID),
        "off-curve": (_did_jwk_of_bytes(json.dumps(dict(jwk, y=jwk["x"])).encode()), InvalidDID),
        "bit-flipped": (flipped, InvalidDID),
        "rsa": (_did_jwk_of_bytes(b'{"kty":"RSA","n":"AQAB","e":"AQAB"}'), UnsupportedKeyType),
        "x25519-short": (_did_jwk_of_bytes(b'{"kty":"OKP","crv":"X25519","x":"AAAA"}'), InvalidDID),
        "other-method": (canonical.replace("did:jwk:", "did:key:"), InvalidDID),
    }


@pytest.mark.parametrize("name", list(_bad_did_jwks()))
def test_bad_did_jwks_are_refused(name: str) -> None:
    text, error = _bad_did_jwks()[name]
    with pytest.raises(error):
        DIDJWKResolver().resolve(DID.parse(text), NO_OPTIONS)


def test_did_jwk_from_private_jwk_is_refused() -> None:
    with pytest.raises(InvalidKey):
        did_jwk_from_jwk(jwk_from_private_key(generate_private_key("EdDSA")))


# --- did:web: the URL mapping ------------------------------------------------------------


def test_did_web_url_vectors(vector: Callable[[str], Any]) -> None:
    for case in vector(WEB_VECTORS)["did_to_url"]:
        assert did_web_url(case["did"]) == case["url"]
        assert did_web_url(DID.parse(case["did"])) == case["url"]


@pytest.mark.parametrize(
    "text",
    [
        "did:web:127.0.0.1",
        "did:web:example.com%3A0",
        "did:web:example.com%3A70000",
        "did:web:example.com::a",
        "did:web:example.com:..",
        "did:web:example.com:%2E%2E",
        "did:web:example.com:a%2Fb",
        "did:web:user%40example.com",
        "did:web:-example.com",
        "did:web:exa_mple.com",
        "did:web:example.com%2Fevil",
        "did:key:example.com",
    ],
)
def test_did_web_url_refuses_unsafe_dids(text: str) -> None:
    with pytest.raises(InvalidDID) as info:
        did_web_url(text)
    assert info.value.code == "did.invalid"


# --- did:web: resolution over an injected transport --------------------------------------

WEB_DID = "did:web:example.com:user:alice"
WEB_URL = "https://example.com/user/alice/did.json"


def _web_document(did_text: str = WEB_DID) -> dict[str, Any]:
    key = generate_private_key("ES256").public_key()
    return {
        "id": did_text,
        "verificationMethod": [
            {
                "id": f"{did_text}#k",
                "type": JSON_WEB_KEY,
                "controller": did_text,
                "publicKeyJwk": jwk_from_public_key(key),
            }
        ],
        "assertionMethod": ["#k"],
    }


Handler = Callable[[httpx.Request], httpx.Response]


def _resolve_with(handler: Handler, did_text: str = WEB_DID, **kwargs: Any) -> DIDDocument:
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        fetch = Fetcher(FetchPolicy.untrusted(), client=client)
        result = DIDWebResolver(fetch=fetch, **kwargs).resolve(DID.parse(did_text), NO_OPTIONS)
    assert result.did_document is not None
    return result.did_document


def _json(body: Any, status: int = 200, media: str = "application/did+json") -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": media}
    )


def test_did_web_resolves_over_mock_transport() -> None:
    document = _web_document()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json(document, media="application/json; charset=utf-8")

    doc = _resolve_with(handler)
    assert doc == DIDDocument.from_json(document)
    assert [str(r.url) for r in seen] == [WEB_URL]
    assert "application/did+json" in seen[0].headers["accept"]


def test_did_web_follows_same_origin_redirect() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/user/alice/did.json":
            return httpx.Response(302, headers={"location": "/moved/did.json"})
        return _json(_web_document())

    assert str(_resolve_with(handler).id) == WEB_DID


def _status(code: int, **headers: str) -> Handler:
    return lambda _: httpx.Response(code, headers=headers)


def _raise(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _web_failures() -> dict[str, tuple[Handler, type[GovidError]]]:
    doc = _web_document()
    big = dict(doc, padding="x" * 2048)
    return {
        "404": (_status(404), DIDNotFound),
        "410": (_status(410), DIDNotFound),
        "500": (_status(500), ResolutionUnavailable),
        "connect-error": (_raise(httpx.ConnectError("down")), ResolutionUnavailable),
        "timeout": (_raise(httpx.ReadTimeout("slow")), ResolutionUnavailable),
        "redirect-other-host": (
            _status(301, location="https://evil.example/did.json"),
            ResolutionUnavailable,
        ),
        "redirect-to-http": (
            _status(301, location="http://example.com/did.json"),
            ResolutionUnavailable,
        ),
        "redirect-loop": (_status(307, location="/user/alice/did.json"), ResolutionUnavailable),
        "redirect-nowhere": (_status(302), ResolutionUnavailable),
        "html": (lambda _: _json(doc, media="text/html"), InvalidDIDDocument),
        "no-content-type": (lambda _: httpx.Response(200, content=b"{}"), InvalidDIDDocument),
        "too-large-declared": (lambda _: _json(big), InvalidDIDDocument),
        "too-large-streamed": (
            lambda _: httpx.Response(
                200,
                stream=httpx.ByteStream(json.dumps(big).encode()),
                headers={"content-type": "application/json"},
            ),
            InvalidDIDDocument,
        ),
        "other-did": (lambda _: _json(_web_document("did:web:example.com")), InvalidDIDDocument),
        "not-json": (
            lambda _: httpx.Response(
                200, content=b"{", headers={"content-type": "application/json"}
            ),
            InvalidDIDDocument,
        ),
        "duplicate-member": (
            lambda _: httpx.Response(
                200, content=b'{"id": "x", "id": "y"}', headers={"content-type": "application/json"}
            ),
            InvalidDIDDocument,
        ),
        "deep-nesting": (
            lambda _: httpx.Response(
                200, content=b"[" * 100_000, headers={"content-type": "application/json"}
            ),
            InvalidDIDDocument,
        ),
    }


@pytest.mark.parametrize("name", list(_web_failures()))
def test_did_web_failures_name_their_error(name: str) -> None:
    handler, error = _web_failures()[name]
    with pytest.raises(error) as info:
        _resolve_with(handler, max_bytes=1024 * 2 if "large" in name else 1024 * 1024)
    assert info.value.code == error.code


def test_did_web_refuses_version_id() -> None:
    with httpx.Client(transport=httpx.MockTransport(_status(500))) as client:
        with pytest.raises(DIDNotFound):
            DIDWebResolver(fetch=Fetcher(FetchPolicy.untrusted(), client=client)).resolve(
                DID.parse(WEB_DID), ResolutionOptions(version_id="1")
            )


# --- did:web: a real loopback HTTP server --------------------------------------------------


@pytest.fixture
def loopback() -> Iterator[tuple[int, dict[str, bytes]]]:
    """A plain-HTTP server on 127.0.0.1 serving the bytes in `files` by path."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "application/did+json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], files
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_did_web_over_loopback_server(loopback: tuple[int, dict[str, bytes]]) -> None:
    port, files = loopback
    did_text = f"did:web:localhost%3A{port}:agency"
    document = _web_document(did_text)
    files["/agency/did.json"] = json.dumps(document).encode()
    # The development policy: loopback allowed, so the plain-HTTP test server is reachable.
    with Fetcher(FetchPolicy.untrusted(allow_loopback_http=True, budget=5.0)) as fetch:
        resolver = DIDWebResolver(fetch=fetch, insecure_http_for_tests=True)
        result = resolver.resolve(DID.parse(did_text), NO_OPTIONS)
        assert result.did_document == DIDDocument.from_json(document)
        with pytest.raises(DIDNotFound):
            resolver.resolve(DID.parse(f"did:web:localhost%3A{port}:nobody"), NO_OPTIONS)
        # The same through the Resolver, as a verifier picks an issuer key by kid.
        key = Resolver([resolver], clock=lambda: datetime.now(UTC)).resolve_verification_key(
            "#k", issuer=did_text
        )
        jwk = document["verificationMethod"][0]["publicKeyJwk"]
        assert same_public_key(key, public_key_from_jwk(jwk))
        # Without the unsafe flag the resolver insists on TLS, which this server lacks.
        with pytest.raises(ResolutionUnavailable):
            DIDWebResolver(fetch=fetch).resolve(DID.parse(did_text), NO_OPTIONS)
        # And a citizen-facing policy refuses the loopback address outright.
        with (
            Fetcher(FetchPolicy.untrusted()) as public,
            pytest.raises(ResolutionUnavailable) as info,
        ):
            DIDWebResolver(fetch=public).resolve(DID.parse(did_text), NO_OPTIONS)
        assert isinstance(info.value.__cause__, GovidError)
        assert info.value.__cause__.code == "fetch.address_refused"
