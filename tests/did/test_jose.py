"""did.jose: RFC 8037 / RFC 7638 vectors, jwcrypto cross-checks, and a tampering catalogue."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from did.encoding import b64url_decode, b64url_encode
from did.errors import GovidError, MalformedJOSE, UnsupportedKeyType
from did.jose import (
    DEFAULT_ALGS,
    parse_unverified_jws,
    sign_jws,
    sign_jwt,
    verify_jws,
    verify_jwt,
)
from did.keys import (
    PrivateKey,
    generate_private_key,
    jwk_from_private_key,
    jwk_from_public_key,
    jwk_thumbprint,
    jwk_thumbprint_uri,
    private_key_from_jwk,
    public_key_from_jwk,
)

VECTORS = "jose/jose_rfc8037_rfc7638_vectors.json"
ALL_ALGS = frozenset({"EdDSA", "Ed25519", "ES256", "ES384", "ES512", "ES256K"})


def _token(header: dict[str, Any], payload: bytes, signature: bytes) -> str:
    head = b64url_encode(json.dumps(header).encode())
    return f"{head}.{b64url_encode(payload)}.{b64url_encode(signature)}"


def _resign(header: dict[str, Any], payload: bytes, key: PrivateKey) -> str:
    """A token with an arbitrary header, correctly signed by the Ed25519 `key`."""
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    head = b64url_encode(json.dumps(header).encode())
    signing_input = f"{head}.{b64url_encode(payload)}"
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode()))


# --- RFC vectors ----------------------------------------------------------------


def test_rfc8037_a4_ed25519_signature_is_reproduced(vector: Callable[[str], Any]) -> None:
    v = vector(VECTORS)["rfc8037"]
    key = private_key_from_jwk(v["A.1_private_key_jwk"])
    sign = v["A.4_sign"]
    # sign_jws writes its own header JSON; rebuild the RFC's exact signing input.
    assert sign["signing_input"] == f"{sign['protected_b64']}.{sign['payload_b64']}"
    token = sign_jws(sign["payload_text"].encode(), key, typ=None)
    header_b64, payload_b64, signature_b64 = token.split(".")
    assert b64url_decode(header_b64) == sign["protected_header_json"].encode()
    assert payload_b64 == sign["payload_b64"]
    assert signature_b64 == sign["signature_b64"]
    assert token == sign["compact_jws"]


def test_rfc8037_a5_verifies(vector: Callable[[str], Any]) -> None:
    v = vector(VECTORS)["rfc8037"]["A.5_verify"]
    key = public_key_from_jwk(v["public_key_jwk"])
    verified = verify_jws(v["compact_jws"], key, typ=None)
    assert verified.payload == b"Example of Ed25519 signing"
    assert verified.header == {"alg": "EdDSA"}


def test_rfc8037_a3_thumbprint(vector: Callable[[str], Any]) -> None:
    v = vector(VECTORS)["rfc8037"]
    expected = v["A.3_thumbprint"]
    assert jwk_thumbprint(v["A.2_public_key_jwk"]) == expected["thumbprint_b64url"]
    assert jwk_thumbprint(v["A.1_private_key_jwk"]) == expected["thumbprint_b64url"]
    digest = hashlib.sha256(expected["canonical_json"].encode()).hexdigest()
    assert digest == expected["sha256_hex"]
    assert jwk_thumbprint_uri(v["A.2_public_key_jwk"]) == (
        "urn:ietf:params:oauth:jwk-thumbprint:sha-256:" + expected["thumbprint_b64url"]
    )


def test_rfc7638_rsa_example_is_refused_but_the_rfc9278_uri_shape_matches(
    vector: Callable[[str], Any],
) -> None:
    v = vector(VECTORS)
    # govid supports no RSA keys, so the RFC 7638 example key is refused...
    with pytest.raises(UnsupportedKeyType) as exc:
        jwk_thumbprint(v["rfc7638"]["jwk"])
    assert exc.value.code == "key.unsupported"
    # ...while the RFC 9278 URI is the published prefix over the RFC 7638 thumbprint.
    canonical = v["rfc7638"]["canonical_json_required_members"].encode()
    thumbprint = b64url_encode(hashlib.sha256(canonical).digest())
    assert thumbprint == v["rfc7638"]["thumbprint_b64url"]
    assert v["rfc9278"]["uri"] == f"urn:ietf:params:oauth:jwk-thumbprint:sha-256:{thumbprint}"


def test_holder_key_thumbprint_self_consistency(vector: Callable[[str], Any]) -> None:
    v = vector(VECTORS)["computed_not_published"]["sd_jwt_example_holder_key_thumbprint"]
    assert jwk_thumbprint(v["jwk"]) == v["thumbprint_b64url"]


# --- cross-checks with jwcrypto -------------------------------------------------


@pytest.mark.parametrize("alg", sorted(ALL_ALGS))
def test_govid_signs_jwcrypto_verifies(alg: str) -> None:
    key = generate_private_key(alg)
    token = sign_jwt({"sub": "x", "n": 1}, key, typ="example+jwt", kid="k1", alg=alg)
    checker = jwcrypto_jws.JWS()
    checker.deserialize(token)
    checker.allowed_algs = [alg]
    checker.verify(jwcrypto_jwk.JWK(**jwk_from_public_key(key.public_key())), alg=alg)
    assert json.loads(checker.payload) == {"sub": "x", "n": 1}
    assert checker.jose_header == {"alg": alg, "typ": "example+jwt", "kid": "k1"}


@pytest.mark.parametrize("alg", sorted(ALL_ALGS))
def test_jwcrypto_signs_govid_verifies(alg: str) -> None:
    key = generate_private_key(alg)
    signer = jwcrypto_jws.JWS(b'{"iss":"me"}')
    signer.allowed_algs = [alg]
    signer.add_signature(
        jwcrypto_jwk.JWK(**jwk_from_private_key(key)),
        alg=alg,
        protected=json.dumps({"alg": alg, "typ": "JWT"}),
    )
    token = signer.serialize(compact=True)
    claims = verify_jwt(token, key.public_key(), typ="jwt", algs=ALL_ALGS)
    assert claims == {"iss": "me"}


def test_rfc9864_ed25519_alg_name_is_accepted() -> None:
    key = generate_private_key("Ed25519")
    token = sign_jws(b"x", key, typ=None, alg="Ed25519")
    assert verify_jws(token, key.public_key(), typ=None).header["alg"] == "Ed25519"


def test_typ_comparison_is_case_insensitive_and_ignores_application_prefix() -> None:
    key = generate_private_key("ES256")
    token = sign_jws(b"{}", key, typ="application/KB+JWT")
    verify_jws(token, key.public_key(), typ="kb+jwt")
    verify_jws(token, key.public_key(), typ=["other", "application/kb+jwt"])


def test_header_key_accepted_only_when_caller_opts_in() -> None:
    key = generate_private_key("EdDSA")
    jwk = jwk_from_public_key(key.public_key())
    token = sign_jwt({"nonce": "n"}, key, typ="openid4vci-proof+jwt", extra_header={"jwk": jwk})
    unverified = parse_unverified_jws(token)
    holder = public_key_from_jwk(unverified.header["jwk"])
    claims = verify_jwt(unverified, holder, typ="openid4vci-proof+jwt", allow_header_keys={"jwk"})
    assert claims == {"nonce": "n"}


def test_claims_of_a_non_object_payload_is_malformed() -> None:
    key = generate_private_key("EdDSA")
    verified = verify_jws(sign_jws(b"[1]", key, typ=None), key.public_key(), typ=None)
    with pytest.raises(MalformedJOSE):
        verified.claims()


def test_extra_header_cannot_override_alg() -> None:
    with pytest.raises(ValueError):
        sign_jws(b"", generate_private_key("EdDSA"), typ=None, extra_header={"alg": "none"})


# --- tampering catalogue ---------------------------------------------------------


def _flip(text: str, index: int) -> str:
    raw = bytearray(b64url_decode(text))
    raw[index % len(raw)] ^= 0x01
    return b64url_encode(bytes(raw))


def _tamperings(token: str, key: PrivateKey) -> Iterator[tuple[str, str, str]]:
    """(name, token, expected code) for a valid EdDSA token with typ 'example+jwt'."""
    head, body, sig = token.split(".")
    header = json.loads(b64url_decode(head))
    payload = b64url_decode(body)
    public_raw = jwk_from_public_key(key.public_key())["x"].encode()
    yield "bit-flip-signature", f"{head}.{body}.{_flip(sig, 5)}", "jose.signature_invalid"
    yield "bit-flip-payload", f"{head}.{_flip(body, 3)}.{sig}", "jose.signature_invalid"
    yield (
        "header-changed",
        f"{b64url_encode(json.dumps({**header, 'kid': 'x'}).encode())}.{body}.{sig}",
        "jose.signature_invalid",
    )
    yield (
        "truncated-signature",
        f"{head}.{body}.{b64url_encode(b64url_decode(sig)[:-3])}",
        "jose.signature_invalid",
    )
    yield (
        "alg-none",
        _token({"alg": "none", "typ": header["typ"]}, payload, b""),
        ("jose.alg_not_allowed"),
    )
    hs_input = f"{b64url_encode(json.dumps({'alg': 'HS256'}).encode())}.{body}".encode()
    hs_sig = hmac.new(public_raw, hs_input, hashlib.sha256).digest()
    yield (
        "hmac-with-public-key",
        hs_input.decode() + "." + b64url_encode(hs_sig),
        ("jose.alg_not_allowed"),
    )
    yield (
        "alg-es256-on-ed25519-key",
        _token({"alg": "ES256"}, payload, b"\x00" * 64),
        ("jose.alg_not_allowed"),
    )
    yield (
        "alg-es384-not-in-default-list",
        _token({"alg": "ES384"}, payload, b"\x00" * 96),
        ("jose.alg_not_allowed"),
    )
    yield "alg-rs256", _token({"alg": "RS256"}, payload, b"\x00" * 256), "jose.alg_not_allowed"
    for member, value in (
        ("jwk", jwk_from_public_key(key.public_key())),
        ("jku", "https://evil.example/jwks"),
        ("x5u", "https://evil.example/cert"),
        ("x5c", ["MIIB"]),
    ):
        yield (
            f"header-{member}",
            _resign({**header, member: value}, payload, key),
            ("jose.header_key_rejected"),
        )
    yield "wrong-typ", _resign({**header, "typ": "kb+jwt"}, payload, key), "jose.typ_mismatch"
    yield "no-typ", _resign({"alg": "EdDSA"}, payload, key), "jose.typ_mismatch"
    yield (
        "crit-unknown",
        _resign({**header, "crit": ["ext"], "ext": 1}, payload, key),
        ("jose.crit_unsupported"),
    )
    yield "crit-empty", _resign({**header, "crit": []}, payload, key), "jose.crit_unsupported"
    yield (
        "crit-absent-member",
        _resign({**header, "crit": ["ext"]}, payload, key),
        ("jose.crit_unsupported"),
    )
    yield (
        "crit-registered",
        _resign({**header, "crit": ["alg"]}, payload, key),
        ("jose.crit_unsupported"),
    )
    dup_header = b64url_encode(b'{"alg":"EdDSA","alg":"none"}')
    yield "duplicate-header-member", f"{dup_header}.{body}.{sig}", "jose.malformed"
    yield "padded-base64", f"{head}.{body}=.{sig}", "jose.malformed"
    yield "two-parts", f"{head}.{body}", "jose.malformed"
    yield "four-parts", f"{token}.{sig}", "jose.malformed"
    yield "trailing-garbage", token + "x", "jose.malformed"
    yield "header-not-object", f"{b64url_encode(b'[1]')}.{body}.{sig}", "jose.malformed"
    yield "header-without-alg", f"{b64url_encode(b'{}')}.{body}.{sig}", "jose.malformed"


def test_tampering_catalogue_ed25519() -> None:
    key = generate_private_key("EdDSA")
    token = sign_jwt({"sub": "s"}, key, typ="example+jwt")
    verify_jwt(token, key.public_key(), typ="example+jwt")
    for name, bad, code in _tamperings(token, key):
        with pytest.raises(GovidError) as exc:
            verify_jwt(bad, key.public_key(), typ="example+jwt", crit_understood=())
        assert exc.value.code == code, name


def test_crit_understood_extension_is_accepted() -> None:
    key = generate_private_key("EdDSA")
    token = sign_jws(b"{}", key, typ=None, extra_header={"crit": ["ext"], "ext": True})
    verify_jws(token, key.public_key(), typ=None, crit_understood={"ext"})


def test_duplicate_payload_member_is_malformed() -> None:
    key = generate_private_key("EdDSA")
    token = sign_jws(b'{"sub":"a","sub":"b"}', key, typ=None)
    with pytest.raises(MalformedJOSE) as exc:
        verify_jwt(token, key.public_key(), typ=None)
    assert exc.value.code == "jose.malformed"


def test_es256_signature_must_be_raw_r_s_not_der() -> None:
    key = generate_private_key("ES256")
    token = sign_jws(b"{}", key, typ=None)
    head, body, sig = token.split(".")
    raw = b64url_decode(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    with pytest.raises(GovidError) as exc:
        verify_jws(f"{head}.{body}.{b64url_encode(der)}", key.public_key(), typ=None)
    assert exc.value.code == "jose.signature_invalid"


def test_es256_with_a_p384_key_is_refused() -> None:
    p384 = generate_private_key("ES384")
    token = sign_jws(b"{}", p384, typ=None)
    with pytest.raises(GovidError) as exc:
        verify_jws(token, generate_private_key("ES256").public_key(), typ=None, algs=ALL_ALGS)
    assert exc.value.code == "jose.alg_not_allowed"


def test_wrong_key_same_type() -> None:
    token = sign_jws(b"{}", generate_private_key("ES256"), typ=None)
    with pytest.raises(GovidError) as exc:
        verify_jws(token, generate_private_key("ES256").public_key(), typ=None)
    assert exc.value.code == "jose.signature_invalid"


def test_default_algs() -> None:
    assert frozenset({"EdDSA", "Ed25519", "ES256"}) == DEFAULT_ALGS


# --- properties ------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_keys = {alg: generate_private_key(alg) for alg in ("EdDSA", "ES256")}


@given(
    payload=st.binary(max_size=200),
    alg=st.sampled_from(sorted(_keys)),
    typ=st.one_of(st.none(), st.sampled_from(["jwt", "kb+jwt", "dc+sd-jwt"])),
)
def test_sign_verify_round_trip(payload: bytes, alg: str, typ: str | None) -> None:
    key = _keys[alg]
    verified = verify_jws(sign_jws(payload, key, typ=typ), key.public_key(), typ=typ)
    assert verified.payload == payload
    assert verified.header.get("typ") == typ


@given(claims=st.dictionaries(st.text(), _json_values, max_size=6))
def test_jwt_claims_round_trip(claims: dict[str, Any]) -> None:
    key = _keys["EdDSA"]
    assert verify_jwt(sign_jwt(claims, key, typ="jwt"), key.public_key(), typ="jwt") == claims


@given(
    payload=st.binary(max_size=300),
    alg=st.sampled_from(sorted(_keys)),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_fast_path_and_jwcrypto_agree_on_every_token(payload: bytes, alg: str, flip: int) -> None:
    # The fast path (cryptography / PyNaCl) and jwcrypto accept the same
    # tokens both ways, and both refuse the same token with one byte changed.
    key = _keys[alg]
    public = jwcrypto_jwk.JWK(**jwk_from_public_key(key.public_key()))
    token = sign_jws(payload, key, typ=None)
    checker = jwcrypto_jws.JWS()
    checker.deserialize(token)
    checker.verify(public, alg=alg)
    assert checker.payload == payload
    signer = jwcrypto_jws.JWS(payload)
    signer.add_signature(
        jwcrypto_jwk.JWK(**jwk_from_private_key(key)), alg=alg, protected=json.dumps({"alg": alg})
    )
    foreign = signer.serialize(compact=True)
    assert verify_jws(foreign, key.public_key(), typ=None).payload == payload
    header, body, signature = foreign.split(".")
    position = flip % (len(signature) - 1)  # the last character also holds padding bits
    changed = "A" if signature[position] != "A" else "B"
    tampered = f"{header}.{body}.{signature[:position]}{changed}{signature[position + 1 :]}"
    with pytest.raises(GovidError):
        verify_jws(tampered, key.public_key(), typ=None)
    spoiled = jwcrypto_jws.JWS()
    spoiled.deserialize(tampered)
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        spoiled.verify(public, alg=alg)
