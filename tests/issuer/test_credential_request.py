"""OpenID4VCI 1.0 §8.2 over real HTTP: unrecognised Credential Request parameters are ignored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from issuer.openid4vci import CredentialRequest
from tests.issuer.conftest import CIVIL_CLAIMS, Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt


def _exchange(stack: Stack, http: httpx.Client) -> tuple[Exchange, str]:
    with stack.api("civil") as api:
        offer = api.post(
            "/api/offers",
            json={"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS},
        ).json()
    exchange = Exchange.start(offer["offer_uri"], http)
    access = exchange.token(offer["tx_code"]).json()["access_token"]
    return exchange, access


def _post(exchange: Exchange, access: str, body: dict[str, Any]) -> httpx.Response:
    return exchange.http.post(
        exchange.metadata["credential_endpoint"],
        json=body,
        headers={"Authorization": f"Bearer {access}"},
    )


def test_legacy_proof_beside_proofs_and_unknown_members_are_ignored(stack: Stack) -> None:
    with httpx.Client(timeout=30) as http:
        exchange, access = _exchange(stack, http)
        holder = new_holder_key()
        nonce = exchange.nonce()
        good = proof_jwt(holder, aud=exchange.issuer, nonce=nonce)
        # A wallet that also speaks to draft issuers sends the draft `proof`
        # (here even a broken one) beside the 1.0 `proofs`, plus members of its own.
        body = {
            "credential_configuration_id": "civil_identity",
            "proofs": {"jwt": [good]},
            "proof": {"proof_type": "jwt", "jwt": "not-a-jwt"},
            "format": "dc+sd-jwt",
            "x-wallet-trace": {"id": 7},
        }
        response = _post(exchange, access, body)
    assert response.status_code == 200, response.text
    (issued,) = response.json()["credentials"]
    assert issued["credential"].count("~") >= 2  # an SD-JWT VC with disclosures


def test_a_legacy_proof_alone_is_an_invalid_proof(stack: Stack) -> None:
    with httpx.Client(timeout=30) as http:
        exchange, access = _exchange(stack, http)
        good = proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=exchange.nonce())
        body = {
            "credential_configuration_id": "civil_identity",
            "proof": {"proof_type": "jwt", "jwt": good},
        }
        response = _post(exchange, access, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_proof"
    assert "'proofs'" in response.json()["error_description"]


@pytest.mark.parametrize(
    "extra",
    [
        {"proof": {"proof_type": "jwt", "jwt": "x"}},
        {"proof": None},
        {"unknown": [1, 2, 3]},
        {"credential_response_encryption_x": {}},
    ],
    ids=["legacy-proof", "legacy-proof-null", "unknown-list", "unknown-object"],
)
def test_parse_ignores_unrecognised_members(extra: dict[str, Any]) -> None:
    body = {"credential_configuration_id": "civil_identity", "proofs": {"jwt": ["a.b.c"]}}
    assert CredentialRequest.parse({**body, **extra}, batch_size=4) == CredentialRequest.parse(
        body, batch_size=4
    )
