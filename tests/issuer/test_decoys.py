"""Decoy digests (RFC 9901 §4.2.5, issue 13 item 16): the number of `_sd` entries in a
credential does not tell which optional claims it has.

A counter (or anyone the citizen shows a credential to) sees every digest
even of claims that are withheld. Without padding, a civil identity without
an address has one digest less than one with an address, and an address
without a postal code one less than one with it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from did.keys import jwk_from_public_key
from tests.issuer.conftest import CIVIL_CLAIMS, Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt

FULL = {**CIVIL_CLAIMS, "address": {**CIVIL_CLAIMS["address"], "postal_code": "110 00"}}
MINIMAL = {k: v for k, v in CIVIL_CLAIMS.items() if k != "address"}
ROOT_SLOTS = 8  # personal_id, given/family name, birthdate, nationality, address, 2 age claims
ADDRESS_SLOTS = 4  # street_address, locality, postal_code, country


def _issue(stack: Stack, claims: dict[str, Any], copies: int) -> list[str]:
    with stack.api("civil") as api:
        offer = api.post(
            "/api/offers", json={"credential_configuration_id": "civil_identity", "claims": claims}
        ).json()
    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        access = exchange.token(offer["tx_code"]).json()["access_token"]
        nonce = exchange.nonce()
        proofs = [
            proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=nonce) for _ in range(copies)
        ]
        answer = exchange.credential(access, proofs)
    assert answer.status_code == 200, answer.text
    return [c["credential"] for c in answer.json()["credentials"]]


def _payload(credential: str) -> dict[str, Any]:
    body = credential.split("~")[0].split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def _address_sd(credential: str) -> list[str]:
    """The `_sd` of the address object, found in the address claim's Disclosure."""
    for part in credential.split("~")[1:]:
        if not part:
            continue
        disclosure = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        if len(disclosure) == 3 and disclosure[1] == "address":
            digests: list[str] = disclosure[2]["_sd"]
            return digests
    raise AssertionError("no address disclosure")


def test_sd_counts_do_not_reveal_optional_claims(stack: Stack) -> None:
    bound = stack.ctx.settings.sd_decoys
    full = _issue(stack, FULL, copies=4)
    minimal = _issue(stack, MINIMAL, copies=4)
    for credential in full + minimal:
        assert ROOT_SLOTS <= len(_payload(credential)["_sd"]) <= ROOT_SLOTS + bound
    for credential in full:
        assert ADDRESS_SLOTS <= len(_address_sd(credential)) <= ADDRESS_SLOTS + bound
    # The padding is decoys, not claims: the reference implementation sees the same claims.
    did = stack.agencies["civil"].did
    with stack.registry.client() as registry:
        document = registry.resolve(did).did_document
        assert document is not None

        def key(_iss: str, header: dict[str, Any]) -> JWK:
            method = document.find_verification_method(header["kid"])
            return JWK(**jwk_from_public_key(method.public_key()))

        for credential, claims in ((full[0], FULL), (minimal[0], MINIMAL)):
            payload = SDJWTVerifier(credential, key).get_verified_payload()
            assert {k: payload[k] for k in claims} == claims
            assert ("address" in payload) is ("address" in claims)
