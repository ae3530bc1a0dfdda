"""Presentations that must be refused, each named by its attack and checked by error code."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from did.encoding import b64url_decode, b64url_encode
from did.errors import GovidError
from did.jose import sign_jws, sign_jwt
from did.keys import generate_private_key, jwk_from_public_key
from did.sd_jwt import (
    Disclosure,
    VerifiedSDJWT,
    create_kb_jwt,
    issue_sd_jwt,
    parse_sd_jwt,
    present_sd_jwt,
    verify_issued_sd_jwt,
    verify_sd_jwt,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AUD = "https://counter.example.gov"
NONCE = "n-0S6_WzA2Mj"
TYP = "example+sd-jwt"
ISSUER = generate_private_key("EdDSA")
HOLDER = generate_private_key("ES256")
CLAIMS: dict[str, Any] = {
    "iss": "did:example:issuer",
    "iat": int(NOW.timestamp()) - 3600,
    "exp": int(NOW.timestamp()) + 86400,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "address": {"locality": "London", "country": "GB"},
    "nationalities": ["GB", "FR"],
}
DISCLOSABLE = [
    ("given_name",),
    ("family_name",),
    ("address",),
    ("address", "locality"),
    ("nationalities", 0),
    ("nationalities", 1),
]


def _issue(claims: dict[str, Any] = CLAIMS, **kwargs: Any) -> str:
    return issue_sd_jwt(
        claims,
        issuer_key=ISSUER,
        typ=TYP,
        disclosable=kwargs.pop("disclosable", DISCLOSABLE),
        holder_key=HOLDER.public_key(),
        **kwargs,
    ).serialize()


ISSUED = _issue()
PRESENTED = present_sd_jwt(
    ISSUED,
    disclose=[("given_name",), ("address", "locality")],
    holder_key=HOLDER,
    aud=AUD,
    nonce=NONCE,
    now=NOW,
)


def _verify(token: str, **kwargs: Any) -> VerifiedSDJWT:
    options: dict[str, Any] = {
        "issuer_key": ISSUER.public_key(),
        "typ": TYP,
        "now": NOW,
        "expected_aud": AUD,
        "expected_nonce": NONCE,
    }
    options.update(kwargs)
    return verify_sd_jwt(token, **options)


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(GovidError) as exc:
        call()
    return exc.value.code


def _split(token: str) -> tuple[str, list[str], str]:
    parts = token.split("~")
    return parts[0], parts[1:-1], parts[-1]


def _join(jwt: str, disclosures: list[str], kb: str) -> str:
    return "~".join([jwt, *disclosures, kb])


def _with_kb(jwt: str, disclosures: list[str]) -> str:
    """Reassemble and sign a fresh, valid KB-JWT over the result."""
    sd_jwt = "~".join([jwt, *disclosures]) + "~"
    return sd_jwt + create_kb_jwt(sd_jwt, holder_key=HOLDER, aud=AUD, nonce=NONCE, now=NOW)


def _flip(b64: str, index: int) -> str:
    raw = bytearray(b64url_decode(b64))
    raw[index % len(raw)] ^= 0x01
    return b64url_encode(bytes(raw))


def _resigned_payload(change: Callable[[dict[str, Any]], None]) -> str:
    """The issuer JWT of ISSUED with its payload changed and validly re-signed by the issuer."""
    unverified = parse_sd_jwt(ISSUED)
    payload = json.loads(unverified.jws.payload)
    change(payload)
    return sign_jws(json.dumps(payload).encode(), ISSUER, typ=TYP)


# --- the happy path ------------------------------------------------------------------


def test_honest_presentation_verifies() -> None:
    result = _verify(PRESENTED)
    assert result.claims["given_name"] == "Ada"
    assert result.claims["address"] == {"locality": "London", "country": "GB"}
    assert "family_name" not in result.claims
    assert result.claims["nationalities"] == []
    assert {d.path for d in result.disclosed} == {
        ("address",),
        ("address", "locality"),
        ("given_name",),
    }
    assert result.key_binding is not None and result.key_binding["aud"] == AUD


# --- the issuer-signed JWT -------------------------------------------------------------


def test_bit_flips() -> None:
    jwt, disclosures, kb = _split(PRESENTED)
    head, body, sig = jwt.split(".")
    bad_jwts = {
        "signature": f"{head}.{body}.{_flip(sig, 7)}",
        "payload": f"{head}.{_flip(body, 40)}.{sig}",
        "header": f"{_flip(head, 2)}.{body}.{sig}",
    }
    for name, bad_jwt in bad_jwts.items():
        with pytest.raises(GovidError) as exc:
            _verify(_with_kb(bad_jwt, disclosures))
        # A flipped bit in the JSON may break the JSON itself before the signature check.
        assert exc.value.code in ("jose.signature_invalid", "jose.malformed"), name
    # The holder's KB-JWT is still the original one here: the signature fails first.
    assert _code(lambda: _verify(_join(bad_jwts["signature"], disclosures, kb))) == (
        "jose.signature_invalid"
    )


def test_alg_none() -> None:
    jwt, disclosures, _ = _split(PRESENTED)
    _, body, _ = jwt.split(".")
    head = b64url_encode(json.dumps({"alg": "none", "typ": TYP}).encode())
    assert _code(lambda: _verify(_with_kb(f"{head}.{body}.", disclosures))) == (
        "jose.alg_not_allowed"
    )


def test_hmac_with_public_key_as_secret() -> None:
    jwt, disclosures, _ = _split(PRESENTED)
    _, body, _ = jwt.split(".")
    head = b64url_encode(json.dumps({"alg": "HS256", "typ": TYP}).encode())
    secret = jwk_from_public_key(ISSUER.public_key())["x"].encode()
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{body}.{b64url_encode(mac)}"
    assert _code(lambda: _verify(_with_kb(forged, disclosures))) == "jose.alg_not_allowed"


def test_jwk_in_the_header() -> None:
    attacker = generate_private_key("EdDSA")
    payload = parse_sd_jwt(ISSUED).jws.payload
    jwk = jwk_from_public_key(attacker.public_key())
    forged = sign_jws(payload, attacker, typ=TYP, extra_header={"jwk": jwk})
    _, disclosures, _ = _split(PRESENTED)
    # Even with the attacker's key "found" by a naive lookup, the header key is refused.
    assert _code(
        lambda: _verify(_with_kb(forged, disclosures), issuer_key=attacker.public_key())
    ) == ("jose.header_key_rejected")
    assert _code(lambda: _verify(_with_kb(forged, disclosures))) == "jose.header_key_rejected"


def test_wrong_issuer_key() -> None:
    other = generate_private_key("EdDSA")
    assert _code(lambda: _verify(PRESENTED, issuer_key=other.public_key())) == (
        "jose.signature_invalid"
    )


def test_wrong_typ() -> None:
    assert _code(lambda: _verify(PRESENTED, typ="dc+sd-jwt")) == "jose.typ_mismatch"


def test_expired_and_not_yet_valid() -> None:
    assert _code(lambda: _verify(PRESENTED, now=NOW + timedelta(days=2))) in ("jwt.expired",)
    nbf = _issue({**CLAIMS, "nbf": int(NOW.timestamp()) + 3600})
    assert _code(
        lambda: verify_issued_sd_jwt(nbf, issuer_key=ISSUER.public_key(), typ=TYP, now=NOW)
    ) == ("jwt.not_yet_valid")


def test_sd_alg_unsupported() -> None:
    jwt = _resigned_payload(lambda p: p.update({"_sd_alg": "md5"}))
    assert _code(
        lambda: verify_issued_sd_jwt(jwt + "~", issuer_key=ISSUER.public_key(), typ=TYP, now=NOW)
    ) == ("sd_jwt.sd_alg_unsupported")


# --- Disclosures -------------------------------------------------------------------------


def test_dropped_disclosure_still_verifies_without_the_claim() -> None:
    jwt, disclosures, _ = _split(PRESENTED)
    given = next(d for d in disclosures if Disclosure.parse(d).name == "given_name")
    result = _verify(_with_kb(jwt, [d for d in disclosures if d != given]))
    assert "given_name" not in result.claims
    assert result.claims["address"]["locality"] == "London"


def test_dropping_a_parent_orphans_its_child() -> None:
    jwt, disclosures, _ = _split(PRESENTED)
    kept = [d for d in disclosures if Disclosure.parse(d).name != "address"]
    assert _code(lambda: _verify(_with_kb(jwt, kept))) == "sd_jwt.digest_mismatch"


def test_duplicated_disclosure() -> None:
    jwt, disclosures, _ = _split(PRESENTED)
    assert _code(lambda: _verify(_with_kb(jwt, [*disclosures, disclosures[0]]))) == (
        "sd_jwt.disclosure_duplicate"
    )


def test_disclosure_from_another_sd_jwt() -> None:
    jwt, disclosures, _ = _split(PRESENTED)
    foreign = _split(_issue())[1][0]  # same claims, fresh salts
    assert _code(lambda: _verify(_with_kb(jwt, [*disclosures, foreign]))) == (
        "sd_jwt.digest_mismatch"
    )


def test_unreferenced_disclosure() -> None:
    jwt, disclosures, _ = _split(PRESENTED)
    extra = Disclosure.create(salt="c2FsdHNhbHRzYWx0c2FsdA", name="is_over_18", value=True)
    assert _code(lambda: _verify(_with_kb(jwt, [*disclosures, extra.encoded]))) == (
        "sd_jwt.digest_mismatch"
    )


def test_digest_appearing_twice() -> None:
    unverified = parse_sd_jwt(ISSUED)
    digest = unverified.unverified_payload["_sd"][0]
    jwt = _resigned_payload(lambda p: p["_sd"].append(digest))
    assert _code(
        lambda: verify_issued_sd_jwt(jwt + "~", issuer_key=ISSUER.public_key(), typ=TYP, now=NOW)
    ) == ("sd_jwt.digest_duplicate")


def _issued_with(claims_change: Callable[[dict[str, Any]], None], disclosure: Disclosure) -> str:
    def change(payload: dict[str, Any]) -> None:
        claims_change(payload)

    jwt = _resigned_payload(change)
    return f"{jwt}~{disclosure.encoded}~"


@pytest.mark.parametrize(
    ("name", "disclosure_name", "in_array", "code"),
    [
        ("claim-clash", "iss", False, "sd_jwt.claim_clash"),
        ("reserved-_sd", "_sd", False, "sd_jwt.claim_name_reserved"),
        ("reserved-ellipsis", "...", False, "sd_jwt.claim_name_reserved"),
        ("array-disclosure-in-_sd", None, False, "sd_jwt.disclosure_misplaced"),
        ("object-disclosure-in-array", "x", True, "sd_jwt.disclosure_misplaced"),
    ],
)
def test_disclosure_rules(
    name: str, disclosure_name: str | None, in_array: bool, code: str
) -> None:
    # Build the raw JSON by hand: Disclosure.create refuses reserved names.
    array: list[Any] = (
        ["c2FsdHNhbHRzYWx0c2FsdA", 1]
        if disclosure_name is None
        else [
            "c2FsdHNhbHRzYWx0c2FsdA",
            disclosure_name,
            1,
        ]
    )
    disclosure = Disclosure.parse(b64url_encode(json.dumps(array).encode()))
    digest = disclosure.digest()

    def change(payload: dict[str, Any]) -> None:
        if in_array:
            payload["nationalities"].append({"...": digest})
        else:
            payload["_sd"].append(digest)

    token = _issued_with(change, disclosure)
    assert (
        _code(lambda: verify_issued_sd_jwt(token, issuer_key=ISSUER.public_key(), typ=TYP, now=NOW))
        == code
    ), name


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("_sd-not-a-list", lambda p: p.update({"_sd": "abc"})),
        ("_sd-holds-a-number", lambda p: p.update({"_sd": [1]})),
        ("ellipsis-with-sibling", lambda p: p["nationalities"].append({"...": "a", "b": 1})),
        ("ellipsis-in-object", lambda p: p.update({"...": "a"})),
        ("nested-_sd_alg", lambda p: p["nationalities"].append({"_sd_alg": "sha-256"})),
    ],
)
def test_malformed_payload_structures(name: str, change: Callable[[dict[str, Any]], None]) -> None:
    token = _resigned_payload(change) + "~"
    assert (
        _code(lambda: verify_issued_sd_jwt(token, issuer_key=ISSUER.public_key(), typ=TYP, now=NOW))
        == "sd_jwt.malformed"
    ), name


# --- serialization -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mutate", "code"),
    [
        ("missing-trailing-tilde", lambda t: t.rstrip("~"), "sd_jwt.malformed"),
        ("jwt-only", lambda t: t.split("~")[0], "sd_jwt.malformed"),
        ("trailing-garbage", lambda t: t + "garbage", "sd_jwt.malformed"),
        ("empty-disclosure", lambda t: t.replace("~", "~~", 1), "sd_jwt.malformed"),
        ("garbage-disclosure", lambda t: t.replace("~", "~*~", 1), "sd_jwt.disclosure_malformed"),
    ],
)
def test_serialization_tamperings(name: str, mutate: Callable[[str], str], code: str) -> None:
    issued = present_sd_jwt(ISSUED, disclose=[("given_name",)])
    assert (
        _code(
            lambda: verify_sd_jwt(mutate(issued), issuer_key=ISSUER.public_key(), typ=TYP, now=NOW)
        )
        == code
    ), name


def test_trailing_garbage_after_kb_jwt() -> None:
    assert _code(lambda: _verify(PRESENTED + "x")) in ("jose.malformed", "jose.signature_invalid")


# --- Key Binding -------------------------------------------------------------------------


def _kb_token(**changes: Any) -> str:
    jwt, disclosures, _ = _split(PRESENTED)
    sd_jwt = "~".join([jwt, *disclosures]) + "~"
    from did.sd_jwt import sd_digest

    claims: dict[str, Any] = {
        "iat": int(NOW.timestamp()),
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": sd_digest(sd_jwt),
    }
    key = changes.pop("key", HOLDER)
    typ = changes.pop("typ", "kb+jwt")
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return sd_jwt + sign_jwt(claims, key, typ=typ)


@pytest.mark.parametrize(
    ("name", "changes", "code"),
    [
        ("wrong-key", {"key": generate_private_key("ES256")}, "jose.signature_invalid"),
        ("wrong-key-type", {"key": generate_private_key("EdDSA")}, "jose.alg_not_allowed"),
        ("wrong-typ", {"typ": "jwt"}, "jose.typ_mismatch"),
        ("wrong-aud", {"aud": "https://evil.example"}, "kb_jwt.aud_mismatch"),
        ("aud-list", {"aud": [AUD]}, "jwt.claim_malformed"),
        ("wrong-nonce", {"nonce": "replayed"}, "kb_jwt.nonce_mismatch"),
        ("stale-iat", {"iat": int(NOW.timestamp()) - 3600}, "kb_jwt.stale"),
        ("future-iat", {"iat": int(NOW.timestamp()) + 3600}, "jwt.iat_in_future"),
        ("no-iat", {"iat": None}, "jwt.claim_missing"),
        ("no-nonce", {"nonce": None}, "jwt.claim_missing"),
        ("wrong-sd-hash", {"sd_hash": b64url_encode(b"\x00" * 32)}, "kb_jwt.sd_hash_mismatch"),
    ],
)
def test_key_binding_tamperings(name: str, changes: dict[str, Any], code: str) -> None:
    token = _kb_token(**changes)
    assert _code(lambda: _verify(token)) == code, name


def test_kb_sd_hash_covers_the_disclosure_list() -> None:
    # A valid KB-JWT, but a disclosure added after it was signed.
    jwt, disclosures, kb = _split(PRESENTED)
    extra = next(d for d in _split(ISSUED)[1] if d not in disclosures)
    assert _code(lambda: _verify(_join(jwt, [*disclosures, extra], kb))) == (
        "kb_jwt.sd_hash_mismatch"
    )


def test_kb_required_but_missing() -> None:
    plain = present_sd_jwt(ISSUED, disclose=[("given_name",)])
    assert _code(lambda: _verify(plain)) == "kb_jwt.missing"


def test_kb_without_cnf() -> None:
    no_cnf = issue_sd_jwt(CLAIMS, issuer_key=ISSUER, typ=TYP, disclosable=DISCLOSABLE)
    sd_jwt = no_cnf.serialize()
    token = sd_jwt + create_kb_jwt(sd_jwt, holder_key=HOLDER, aud=AUD, nonce=NONCE, now=NOW)
    assert _code(lambda: _verify(token)) == "sd_jwt_vc.cnf_missing"


def test_kb_present_but_not_required_is_still_checked() -> None:
    # Without expected aud/nonce, a valid KB-JWT passes and is reported...
    result = verify_sd_jwt(PRESENTED, issuer_key=ISSUER.public_key(), typ=TYP, now=NOW)
    assert result.key_binding is not None
    # ...and a forged one is refused rather than ignored.
    forged = _kb_token(key=generate_private_key("ES256"))
    assert _code(
        lambda: verify_sd_jwt(forged, issuer_key=ISSUER.public_key(), typ=TYP, now=NOW)
    ) == ("jose.signature_invalid")


def test_holder_refuses_an_issuance_with_kb() -> None:
    assert _code(
        lambda: verify_issued_sd_jwt(PRESENTED, issuer_key=ISSUER.public_key(), typ=TYP, now=NOW)
    ) == ("kb_jwt.unexpected")
    assert _code(lambda: present_sd_jwt(PRESENTED, disclose=[])) == "kb_jwt.unexpected"


def test_only_one_of_aud_and_nonce_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        verify_sd_jwt(PRESENTED, issuer_key=ISSUER.public_key(), typ=TYP, now=NOW, expected_aud=AUD)
