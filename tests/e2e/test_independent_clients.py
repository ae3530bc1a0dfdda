"""A wallet-side client independent of `holder_wallet`, against the real services of `govid up`.

Issue 5 "Done when": the client (httpx, its own jwcrypto proof JWTs, `did.sd_jwt`
for the key-binding presentation, the registry client for ledger proofs)
obtains a civil identity over OpenID4VCI from the stack's civil issuer, checks
it the way a wallet must, and completes the OpenID4VP cross-device flow
against the stack's verifier: accepted, with only the requested claim handed
to the counter. After the agency revokes the credential through its API and
publishes its status list on the ledger, the same flow is refused with
`status.revoked`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from jwcrypto.jwk import JWK

from did.jose import parse_unverified_jws, verify_jwt
from did.keys import PrivateKey, PublicKey, private_key_from_jwk
from did.sd_jwt import present_sd_jwt, verify_sd_jwt_vc
from registry.client import RegistryClient
from tests.e2e.conftest import Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

DEADLINE = 120.0  # seconds to wait for a revocation to reach the counter (never asserted on)
CITIZEN = {
    "personal_id": "E2E-IND-0001",
    "given_name": "Jonas",
    "family_name": "Berg",
    "birthdate": "1979-11-30",
    "nationality": "SE",
}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def registry(stack: Stack) -> Iterator[RegistryClient]:
    """The ledger, trusted through the stack's log key and both witnesses' keys."""
    with RegistryClient(stack.registry, trust=stack.ledger_trust()) as client:
        yield client


# --- the issuing side: the civil agency's own systems ----------------------------------------


def _agency_offer(stack: Stack, http: httpx.Client) -> dict[str, Any]:
    civil = stack.issuer("civil")
    response = http.post(
        civil["url"] + "/api/offers",
        headers={"Authorization": f"Bearer {stack.agency_token('civil')}"},
        json={"credential_configuration_id": "civil_identity", "claims": CITIZEN},
    )
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


def _agency_revoke(stack: Stack, http: httpx.Client, offer_id: str) -> None:
    civil = stack.issuer("civil")
    auth = {"Authorization": f"Bearer {stack.agency_token('civil')}"}
    listed = http.get(civil["url"] + "/api/credentials", params={"offer": offer_id}, headers=auth)
    assert listed.status_code == 200, listed.text
    credentials = listed.json()["credentials"]
    assert credentials, "the agency finds what it issued for this offer"
    revoked = http.post(
        civil["url"] + f"/api/credentials/{credentials[0]['id']}/revoke", headers=auth
    )
    assert revoked.status_code == 200, revoked.text
    assert {c["status"] for c in revoked.json()["credentials"]} == {"revoked"}
    published = http.post(civil["url"] + "/api/status-lists/publish", headers=auth)
    assert published.status_code == 200, published.text


# --- the wallet side, written from the specifications ----------------------------------------


def _holder_private_key(jwk: JWK) -> PrivateKey:
    return private_key_from_jwk(json.loads(jwk.export_private()))


def _key_of(registry: RegistryClient, did: str, kid: str) -> PublicKey:
    """The `assertionMethod` key `kid` names, from `did`'s document as proven on the ledger.

    A `kid` of another DID is refused by `find_verification_method`.
    """
    document = registry.resolve(did).did_document
    assert document is not None, f"{did} resolves to a document"
    return document.find_verification_method(kid, "assertionMethod").public_key()


def receive(
    stack: Stack, http: httpx.Client, registry: RegistryClient, offer: Mapping[str, Any]
) -> list[tuple[str, JWK]]:
    """OpenID4VCI pre-authorized code flow: a batch of two copies, each on its own key."""
    exchange = Exchange.start(offer["offer_uri"], http)
    issuer_did = stack.issuer("civil")["did"]
    assert exchange.metadata.get("issuer_did") in (None, issuer_did)
    token = exchange.token(offer["tx_code"])
    assert token.status_code == 200, token.text
    holders = [new_holder_key() for _ in range(2)]
    nonce = exchange.nonce()
    proofs = [proof_jwt(k, aud=exchange.issuer, nonce=nonce) for k in holders]
    response = exchange.credential(token.json()["access_token"], proofs)
    assert response.status_code == 200, response.text
    credentials = [c["credential"] for c in response.json()["credentials"]]
    assert len(credentials) == len(holders)

    # What a wallet checks before keeping a credential: the issuer's signature by a key
    # of its DID on the ledger, the offered type, the binding to the key it just made.
    vct = exchange.metadata["credential_configurations_supported"]["civil_identity"]["vct"]

    def issuer_key(iss: str | None, header: Mapping[str, Any]) -> PublicKey:
        assert iss == issuer_did
        return _key_of(registry, iss, str(header["kid"]))

    for credential, holder in zip(credentials, holders, strict=True):
        verified = verify_sd_jwt_vc(credential, issuer_key=issuer_key, now=datetime.now(UTC))
        assert verified.iss == issuer_did and verified.vct == vct
        claims = verified.claims
        assert claims["cnf"]["jwk"]["x"] == holder.export_public(as_dict=True)["x"]
        assert claims["given_name"] == "Jonas" and claims["age_over_18"] is True
    accredited = [
        a
        for a in registry.accreditations(issuer_did)
        if a.role == "issuer" and vct in a.credential_types
    ]
    assert accredited and accredited[0].active_at(time.time())
    return list(zip(credentials, holders, strict=True))


def fetch_request(registry: RegistryClient, authorization_request: str) -> dict[str, Any]:
    """OpenID4VP by reference: fetch the request object and check who signed it."""
    parts = urlsplit(authorization_request)
    assert parts.scheme == "openid4vp"
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    response = httpx.get(params["request_uri"], timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/oauth-authz-req+jwt")
    header = parse_unverified_jws(response.text).header
    assert header["typ"] == "oauth-authz-req+jwt"
    client_id = params["client_id"]
    assert client_id.startswith("decentralized_identifier:")
    did = client_id.removeprefix("decentralized_identifier:")
    # OpenID4VP §5.9.3: the key comes from the verifier's DID document, named by `kid`.
    key = _key_of(registry, did, str(header["kid"]))
    request = verify_jwt(response.text, key, typ="oauth-authz-req+jwt")
    assert request["client_id"] == client_id
    assert request["response_type"] == "vp_token"
    assert request["response_mode"] == "direct_post"
    assert request["nonce"] and request["state"]
    # govid issue 5 item 4: the counter is accredited on the ledger for what it asks.
    asked = {v for q in request["dcql_query"]["credentials"] for v in q["meta"]["vct_values"]}
    accredited = {
        vct
        for a in registry.accreditations(did)
        if a.role == "verifier" and a.active_at(time.time())
        for vct in a.credential_types
    }
    assert asked <= accredited
    return request


def respond(
    request: Mapping[str, Any], credential: str, holder: JWK, *, disclose: list[list[str]]
) -> httpx.Response:
    """`direct_post` a DCQL-shaped vp_token: one SD-JWT+KB for the first credential query."""
    query_id = request["dcql_query"]["credentials"][0]["id"]
    presentation = present_sd_jwt(
        credential,
        disclose=disclose,
        holder_key=_holder_private_key(holder),
        aud=request["client_id"],
        nonce=request["nonce"],
        now=datetime.now(UTC),
    )
    vp_token = json.dumps({query_id: [presentation]})
    return httpx.post(
        request["response_uri"],
        data={"vp_token": vp_token, "state": request["state"]},
        timeout=30,
    )


# --- the counter's side: the verifier API ----------------------------------------------------


def present_at_counter(
    stack: Stack,
    http: httpx.Client,
    registry: RegistryClient,
    copy: tuple[str, JWK],
) -> dict[str, Any]:
    """The counter asks "age over 18"; the wallet answers; the counter reads the outcome."""
    auth = {"Authorization": f"Bearer {stack.counter_token()}"}
    created = http.post(
        stack.verifier + "/api/presentation-requests",
        headers=auth,
        json={"template": "age_over_18"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending"
    request = fetch_request(registry, body["authorization_request"])
    answer = respond(request, *copy, disclose=[["age_over_18"]])
    assert answer.status_code == 200, answer.text
    outcome = http.get(stack.verifier + f"/api/presentation-requests/{body['id']}", headers=auth)
    assert outcome.status_code == 200, outcome.text
    result: dict[str, Any] = outcome.json()
    assert result["status"] in ("accepted", "refused"), result
    return result


def test_openid4vci_then_openid4vp_accepted_then_refused_after_revocation(
    stack: Stack, http: httpx.Client, registry: RegistryClient
) -> None:
    offer = _agency_offer(stack, http)
    copies = receive(stack, http, registry, offer)

    accepted = present_at_counter(stack, http, registry, copies[0])
    assert accepted["status"] == "accepted", accepted["report"]
    assert accepted["report"]["accepted"] is True
    disclosed = accepted["disclosed"]["age_over_18"][0]
    assert disclosed["age_over_18"] is True
    assert not {"given_name", "family_name", "birthdate", "personal_id"} & set(disclosed)

    _agency_revoke(stack, http, offer["id"])

    # The revocation reaches the counter once the status list is on the ledger, cosigned,
    # and the verifier's cache is fresh again: poll with a generous deadline.
    deadline = time.monotonic() + DEADLINE
    while True:
        outcome = present_at_counter(stack, http, registry, copies[1])
        if outcome["status"] == "refused":
            break
        assert time.monotonic() < deadline, "the revoked credential was still accepted"
        time.sleep(1.0)
    report = outcome["report"]
    assert report["accepted"] is False
    assert (report["failed_check"], report["error"]) == ("status", "status.revoked")
    assert outcome["disclosed"] is None

    # The first copy (already shown once) is refused just the same: revocation is per batch.
    again = present_at_counter(stack, http, registry, copies[0])
    assert (again["report"]["failed_check"], again["report"]["error"]) == (
        "status",
        "status.revoked",
    )
