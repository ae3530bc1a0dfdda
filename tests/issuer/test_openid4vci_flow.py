"""Done-when of issue 4: an independent OpenID4VCI client obtains SD-JWT VCs the reference
`sd-jwt` package verifies, bound to its keys, with a status list entry on the ledger."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from did.keys import jwk_from_public_key
from registry.client import RegistryClient
from tests.issuer.conftest import CIVIL_CLAIMS, Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt
from tests.qr import decode_qr


def _issuer_key(client: RegistryClient, did: str, kid: str) -> JWK:
    """The issuer's public key, from its DID document as the ledger proves it."""
    document = client.resolve(did).did_document
    assert document is not None
    method = document.find_verification_method(kid)
    return JWK(**jwk_from_public_key(method.public_key()))


def _offer(stack: Stack, **overrides: Any) -> dict[str, Any]:
    body = {"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS, **overrides}
    with stack.api("civil") as api:
        response = api.post("/api/offers", json=body)
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


def test_independent_wallet_receives_a_batch_the_reference_verifies(stack: Stack) -> None:
    offer = _offer(stack)
    # The QR code carries the offer link, as decoded by a real QR decoder.
    assert decode_qr(base64.b64decode(offer["qr_png"])) == offer["offer_uri"]
    assert offer["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")

    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        assert (
            exchange.metadata["credential_configurations_supported"]["civil_identity"]["format"]
            == "dc+sd-jwt"
        )
        token = exchange.token(offer["tx_code"])
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        holders = [new_holder_key() for _ in range(3)]
        nonce = exchange.nonce()
        proofs = [proof_jwt(k, aud=exchange.issuer, nonce=nonce) for k in holders]
        response = exchange.credential(access, proofs)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        credentials = [c["credential"] for c in response.json()["credentials"]]

    assert len(credentials) == 3
    issuer_did = stack.agencies["civil"].did
    indices = set()
    with stack.registry.client() as registry:
        for credential, holder in zip(credentials, holders, strict=True):
            verifier = SDJWTVerifier(
                credential, lambda iss, header: _issuer_key(registry, iss, header["kid"])
            )
            payload = verifier.get_verified_payload()
            assert payload["iss"] == issuer_did
            assert payload["vct"] == stack.vct("civil_identity")
            assert payload["cnf"]["jwk"]["x"] == holder.export_public(as_dict=True)["x"]
            assert payload["given_name"] == "Alma"
            assert payload["address"]["locality"] == "Praha"
            assert payload["age_over_18"] is True and payload["age_over_65"] is True
            assert payload["status"]["status_list"]["uri"].startswith(stack.url + "/status/civil/")
            indices.add(payload["status"]["status_list"]["idx"])
    assert len(indices) == 3  # each copy its own random index

    # Everything a citizen might withhold is selectively disclosable.
    header_payload = credentials[0].split("~")[0].split(".")[1]
    visible = base64.urlsafe_b64decode(header_payload + "==").decode()
    for value in ("Alma", "Novak", "1950-06-01", "CZ-4471-0093", "Praha"):
        assert value not in visible

    # The issuer listed them under the offer; the offer's claim values are gone.
    with stack.api("civil") as api:
        listed = api.get("/api/credentials", params={"offer": offer["id"]}).json()["credentials"]
    assert len(listed) == 3 and {c["status"] for c in listed} == {"valid"}
    assert len({c["batch"] for c in listed}) == 1
    assert httpx.get(f"{stack.url}/credential-offers/{offer['id']}").status_code == 404


def test_replays_and_bad_proofs_issue_nothing(stack: Stack) -> None:
    offer = _offer(stack)
    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        missing = exchange.token(None)
        assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
        wrong = exchange.token("000000" if offer["tx_code"] != "000000" else "111111")
        assert wrong.json() == {
            "error": "invalid_grant",
            "error_description": "the transaction code is wrong",
            "govid_error": "oid4vci.tx_code_invalid",
        }
        access = exchange.token(offer["tx_code"]).json()["access_token"]
        replay = exchange.token(offer["tx_code"])
        assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")

        key = new_holder_key()
        nonce = exchange.nonce()
        cases = {
            "other issuer": proof_jwt(key, aud=stack.url + "/agencies/social", nonce=nonce),
            "wrong typ": proof_jwt(key, aud=exchange.issuer, nonce=nonce, typ="JWT"),
            "stale": proof_jwt(key, aud=exchange.issuer, nonce=nonce, iat=1_700_000_000),
            "no nonce": proof_jwt(key, aud=exchange.issuer, nonce=None),
        }
        for name, proof in cases.items():
            answer = exchange.credential(access, [proof])
            assert (answer.status_code, answer.json()["error"]) == (400, "invalid_proof"), name
        unknown = exchange.credential(access, [proof_jwt(key, aud=exchange.issuer, nonce="x")])
        assert unknown.json()["error"] == "invalid_nonce"
        twice = exchange.credential(access, [proof_jwt(key, aud=exchange.issuer, nonce=nonce)] * 2)
        assert twice.json()["error"] == "invalid_proof"  # one credential per key
        good = exchange.credential(access, [proof_jwt(key, aud=exchange.issuer, nonce=nonce)])
        assert good.status_code == 200, good.text
        # The nonce is single use; the offer's credentials were issued once.
        again = exchange.credential(
            access, [proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=nonce)]
        )
        assert again.json()["error"] == "credential_request_denied"
        no_token = exchange.credential("nope", [proof_jwt(key, aud=exchange.issuer, nonce=nonce)])
        assert no_token.status_code == 401
        assert no_token.headers["www-authenticate"].startswith("Bearer")


def test_transaction_code_guesses_are_limited(stack: Stack) -> None:
    offer = _offer(stack)
    wrong = "000000" if offer["tx_code"] != "000000" else "111111"
    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        codes = [exchange.token(wrong).json()["govid_error"] for _ in range(3)]
        assert codes == ["oid4vci.tx_code_invalid"] * 2 + ["oid4vci.tx_code_locked"]
        # Burnt: even the right code no longer works, and the offer is gone.
        assert exchange.token(offer["tx_code"]).json()["error"] == "invalid_grant"
    assert httpx.get(offer["credential_offer_uri"]).status_code == 404


def test_an_expired_offer_is_refused(stack: Stack) -> None:
    offer = _offer(stack, expires_in=120)
    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        stack.clock.advance(seconds=121)
        answer = exchange.token(offer["tx_code"])
    assert answer.json()["govid_error"] == "oid4vci.offer_expired"


@pytest.mark.parametrize("ctype", ["civil_identity"])
def test_metadata_documents(stack: Stack, ctype: str) -> None:
    md = httpx.get(f"{stack.url}/.well-known/openid-credential-issuer/agencies/civil").json()
    assert md["credential_issuer"] == f"{stack.url}/agencies/civil"
    assert md["issuer_did"] == stack.agencies["civil"].did
    config = md["credential_configurations_supported"][ctype]
    assert config["vct"] == stack.vct(ctype)
    assert config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    as_md = httpx.get(f"{stack.url}/.well-known/oauth-authorization-server").json()
    assert as_md["token_endpoint"] == f"{stack.url}/token"
    assert as_md["pre-authorized_grant_anonymous_access_supported"] is True
    # Type metadata at the vct URL, the schema at /schemas/{id}.json.
    type_md = httpx.get(config["vct"]).json()
    assert type_md["vct"] == config["vct"]
    assert ["age_over_18"] in [c["path"] for c in type_md["claims"]]
    schema = httpx.get(f"{stack.url}/schemas/{ctype}.json").json()
    assert "birthdate" in schema["properties"]


def test_default_agency_is_served_at_the_bare_well_known_path(stack: Stack) -> None:
    # One issuer process per agency (compose, `govid up`): its identifier is the base URL.
    stack.ctx.settings.default_agency = "civil"
    try:
        offer = _offer(stack)
        with httpx.Client(timeout=30) as http:
            bare = http.get(stack.url + "/.well-known/openid-credential-issuer")
            assert bare.status_code == 200
            assert bare.json()["credential_issuer"] == stack.url
            exchange = Exchange.start(offer["offer_uri"], http)
            assert exchange.issuer == stack.url
            access = exchange.token(offer["tx_code"]).json()["access_token"]
            holder = new_holder_key()
            proof = proof_jwt(holder, aud=stack.url, nonce=exchange.nonce())
            response = exchange.credential(access, [proof])
            assert response.status_code == 200, response.text
            assert len(response.json()["credentials"]) == 1
    finally:
        stack.ctx.settings.default_agency = None
    with httpx.Client(timeout=30) as http:
        assert http.get(stack.url + "/.well-known/openid-credential-issuer").status_code == 404
