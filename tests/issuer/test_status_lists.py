"""Revoke, suspend, reinstate: batched publication on the ledger, served at the list uri."""

from __future__ import annotations

import json
from typing import Any

import httpx

from did.errors import GovidError
from did.jose import parse_unverified_jws
from did.status_list import StatusList, StatusReference, StatusType
from did.status_list_token import status_of, verify_status_list_token
from issuer.status_lists import publish_status_lists
from registry import authoring
from registry.authoring import Keyring
from registry.proofs import verify_ledger_proof
from tests.issuer.conftest import CIVIL_CLAIMS, Stack, wait_until
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


def _declared_types(stack: Stack, uri: str) -> tuple[list[str], int]:
    """The `credentialTypes` and `sequence` of the agency's latest publication, proven."""
    did = stack.agencies["civil"].did
    body = httpx.get(stack.registry.url + "/status-lists", params={"issuer": did, "uri": uri})
    assert body.status_code == 200, body.text
    if body.json()["ledgerProof"] is None:
        return [], 0  # appended, not yet under a checkpoint: not published yet
    with stack.registry.client() as client:
        proven = verify_ledger_proof(
            body.json()["ledgerProof"], trust=client.trust, now=stack.clock()
        )
    payload = proven.entries[-1].operation.payload
    assert proven.entries[-1].operation.did == did
    return payload["credentialTypes"], payload["sequence"]


def test_publications_declare_the_types_the_agency_is_still_accredited_for(
    stack: Stack,
) -> None:
    # Method spec §5.7 rule 1: the ledger logs a publication only if every type
    # it declares is covered, so the publisher declares what still is.
    _, refs = _issue(stack, copies=1)
    uri = refs[0]["status_list"]["uri"]
    civil, birth = stack.vct("civil_identity"), stack.vct("birth_certificate")
    did = stack.agencies["civil"].did
    # Of its two types, the civil agency is accredited for one.
    wait_until(lambda: _declared_types(stack, uri)[1] >= 1, what="the first publication")
    assert _declared_types(stack, uri) == ([civil], 1)

    stack.registry.accredit(did, [birth])
    published = publish_status_lists(stack.ctx, agency="civil", force=True)
    assert [(p["sequence"], p["error"]) for p in published] == [(2, None)]
    wait_until(lambda: _declared_types(stack, uri)[1] == 2, what="the second publication")
    assert _declared_types(stack, uri) == (sorted([civil, birth]), 2)

    # Every accreditation revoked: nothing may be declared, nothing is published.
    path = stack.registry.data / "root-keys.json"
    root = Keyring.from_json(json.loads(path.read_text()))
    with stack.registry.client() as client:
        for accreditation in client.accreditations(did):
            root, op = authoring.revoke_accreditation(root, accreditation=accreditation.id)
            client.submit(op)
        path.write_text(root.dumps())

        def revoked() -> bool:
            try:  # until a checkpoint covers the revocations, their proof is not served
                return all(a.revoked_ms is not None for a in client.accreditations(did))
            except GovidError:
                return False

        wait_until(revoked, what="the revocations")
    published = publish_status_lists(stack.ctx, agency="civil", force=True)
    assert [(p["sequence"], p["error"]) for p in published] == [
        (None, "ledger.accreditation_required")
    ]
    assert _declared_types(stack, uri)[1] == 2
