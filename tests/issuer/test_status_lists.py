"""Revoke, suspend, reinstate: batched publication on the ledger, served at the list uri."""

from __future__ import annotations

import json
from typing import Any

import httpx

from did.jose import parse_unverified_jws
from did.status_list import StatusList, StatusReference, StatusType
from did.status_list_token import status_of, verify_status_list_token
from tests.issuer.conftest import CIVIL_CLAIMS, Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt


def _issue(stack: Stack, copies: int) -> tuple[str, list[dict[str, Any]]]:
    with stack.api("civil") as api:
        offer = api.post(
            "/api/offers",
            json={"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS},
        ).json()
    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        access = exchange.token(offer["tx_code"]).json()["access_token"]
        nonce = exchange.nonce()
        proofs = [
            proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=nonce) for _ in range(copies)
        ]
        assert exchange.credential(access, proofs).status_code == 200
    with stack.api("civil") as api:
        listed = api.get("/api/credentials", params={"offer": offer["id"]}).json()
    return offer["id"], listed["credentials"]


def _ledger_status(stack: Stack, ref: dict[str, Any]) -> tuple[StatusType, int]:
    """The status of `ref` in the list token published on the ledger (proven), and its sequence."""
    did = stack.agencies["civil"].did
    with stack.registry.client() as client:
        token, sequence = client.status_list_token(did, ref["uri"])
        document = client.resolve(did).did_document
        assert document is not None
    kid = parse_unverified_jws(token).header["kid"]
    key = document.find_verification_method(kid).public_key()
    verified = verify_status_list_token(token, key=key, expected_uri=ref["uri"], now=stack.clock())
    return status_of(StatusReference.parse({"status_list": ref}), verified), sequence


def test_revocation_is_batched_onto_the_ledger(stack: Stack) -> None:
    _, first = _issue(stack, copies=2)
    _, second = _issue(stack, copies=1)
    with stack.api("civil") as api:
        # A new list went on the ledger with its first credential; nothing changed since.
        assert api.post("/api/status-lists/publish").json()["published"] == []
        ref = first[0]["status_list"]
        assert _ledger_status(stack, ref) == (StatusType.VALID, 1)

        # Revoke one copy: the whole batch goes. Suspend another credential.
        revoked = api.post(f"/api/credentials/{first[0]['id']}/revoke").json()
        assert {c["status"] for c in revoked["credentials"]} == {"revoked"}
        assert len(revoked["credentials"]) == 2
        suspended = api.post(f"/api/credentials/{second[0]['id']}/suspend").json()
        assert suspended["status"] == "suspended"
        # Many changes, one publication.
        published = api.post("/api/status-lists/publish").json()["published"]
        assert [p["sequence"] for p in published] == [2]
        assert api.post("/api/status-lists/publish").json()["published"] == []

        for copy in first:
            assert _ledger_status(stack, copy["status_list"])[0] == StatusType.INVALID
        assert _ledger_status(stack, second[0]["status_list"]) == (StatusType.SUSPENDED, 2)

        # The same token is served at the list's uri.
        with stack.registry.client() as client:
            on_ledger, _ = client.status_list_token(stack.agencies["civil"].did, ref["uri"])
        assert httpx.get(ref["uri"]).text == on_ledger

        reinstated = api.post(f"/api/credentials/{second[0]['id']}/reinstate").json()
        assert reinstated["status"] == "valid"
        again = api.post(f"/api/credentials/{first[1]['id']}/reinstate")
        assert (again.status_code, again.json()["error"]) == (
            422,
            "issuer.status_transition_invalid",
        )
        api.post("/api/status-lists/publish")
        assert _ledger_status(stack, second[0]["status_list"]) == (StatusType.VALID, 3)

        # Searching by the subject's identifier finds them (through the salted hash).
        found = api.get("/api/credentials", params={"subject": CIVIL_CLAIMS["personal_id"]})
        assert len(found.json()["credentials"]) == 3
        audit = [e["action"] for e in api.get("/api/audit").json()["events"]]
        assert {"credential.revoke", "credential.suspend", "status_list.publish"} <= set(audit)


def test_lists_are_large_and_indices_random(stack: Stack) -> None:
    _, creds = _issue(stack, copies=4)
    token = httpx.get(creds[0]["status_list"]["uri"])
    assert token.headers["content-type"].startswith("application/statuslist+jwt")
    claims = json.loads(parse_unverified_jws(token.text).payload)
    assert StatusList.decode(claims["status_list"]).size >= 131_072
    indices = sorted(c["status_list"]["idx"] for c in creds)
    assert indices != list(range(indices[0], indices[0] + 4))  # not sequential
