"""Interoperability with the reference implementation (sd-jwt 0.10.4), both directions.

The reference stamps its KB-JWT `iat` with the real clock, so these tests pass
the real time as `now` (did/ itself never reads the clock).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from did.keys import generate_private_key, jwk_from_private_key, jwk_from_public_key
from did.sd_jwt import issue_sd_jwt, present_sd_jwt, verify_sd_jwt

AUD = "https://verifier.example.gov"
NONCE = "nonce-123"
TYP = "example+sd-jwt"  # the reference's default typ


def _jwcrypto(jwk: dict[str, str]) -> JWK:
    return JWK(**jwk)


def test_reference_issues_and_presents_govid_verifies() -> None:
    issuer = generate_private_key("ES256")
    holder = generate_private_key("ES256")
    claims: dict[Any, Any] = {
        "iss": "https://issuer.example",
        SDObj("given_name"): "Ada",
        SDObj("family_name"): "Lovelace",
        SDObj("address"): {SDObj("locality"): "London", "country": "GB"},
        "nationalities": [SDObj("GB"), SDObj("FR"), "IT"],
    }
    issued = SDJWTIssuer(
        claims,
        _jwcrypto(jwk_from_private_key(issuer)),
        _jwcrypto(jwk_from_public_key(holder.public_key())),
        add_decoy_claims=True,
    ).sd_jwt_issuance
    holder_side = SDJWTHolder(issued)
    holder_side.create_presentation(
        {"given_name": True, "address": {"locality": True}, "nationalities": [False, True]},
        nonce=NONCE,
        aud=AUD,
        holder_key=_jwcrypto(jwk_from_private_key(holder)),
    )
    result = verify_sd_jwt(
        holder_side.sd_jwt_presentation,
        issuer_key=lambda iss, header: issuer.public_key(),
        typ=TYP,
        now=datetime.now(UTC),
        expected_aud=AUD,
        expected_nonce=NONCE,
    )
    assert result.claims["given_name"] == "Ada"
    assert "family_name" not in result.claims
    assert result.claims["address"] == {"locality": "London", "country": "GB"}
    assert result.claims["nationalities"] == ["FR", "IT"]
    assert result.key_binding is not None


def test_govid_issues_and_presents_reference_verifies() -> None:
    issuer = generate_private_key("EdDSA")
    holder = generate_private_key("ES256")  # the reference checks KB-JWTs with ES256 only
    claims = {
        "iss": "https://issuer.example",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "address": {"locality": "London", "country": "GB"},
        "nationalities": ["GB", "FR", "IT"],
    }
    issued = issue_sd_jwt(
        claims,
        issuer_key=issuer,
        typ=TYP,
        disclosable=[
            ("given_name",),
            ("family_name",),
            ("address",),
            ("address", "locality"),
            ("nationalities", 0),
            ("nationalities", 1),
        ],
        holder_key=holder.public_key(),
        decoys=3,
    )
    presentation = present_sd_jwt(
        issued,
        disclose=[("given_name",), ("address", "locality"), ("nationalities", 1)],
        holder_key=holder,
        aud=AUD,
        nonce=NONCE,
        now=datetime.now(UTC),
    )
    issuer_jwk = _jwcrypto(jwk_from_public_key(issuer.public_key()))
    verifier = SDJWTVerifier(
        presentation,
        lambda iss, header: issuer_jwk,
        expected_aud=AUD,
        expected_nonce=NONCE,
    )
    payload = verifier.get_verified_payload()
    assert payload["given_name"] == "Ada"
    assert "family_name" not in payload
    assert payload["address"] == {"locality": "London", "country": "GB"}
    assert payload["nationalities"] == ["FR", "IT"]
    assert payload["cnf"]["jwk"] == jwk_from_public_key(holder.public_key())


def test_reference_holder_presents_a_govid_issuance() -> None:
    issuer = generate_private_key("ES256")
    issued = issue_sd_jwt(
        {"a": 1, "b": {"c": [1, 2]}},
        issuer_key=issuer,
        typ=TYP,
        disclosable=[("a",), ("b",), ("b", "c", 1)],
    )
    holder_side = SDJWTHolder(issued.serialize())
    holder_side.create_presentation({"b": {"c": [False, True]}})
    result = verify_sd_jwt(
        holder_side.sd_jwt_presentation,
        issuer_key=issuer.public_key(),
        typ=TYP,
        now=datetime.now(UTC),
    )
    assert result.claims == {"b": {"c": [1, 2]}}
