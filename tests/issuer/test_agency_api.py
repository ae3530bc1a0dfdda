"""The agency API: schemas (422 with the path), ledger accreditation (403), OAuth, audit."""

from __future__ import annotations

import httpx
from sqlmodel import select

from issuer.store import AgencyRow, AuditRow, ClientRow, OfferRow
from tests.issuer.conftest import CIVIL_CLAIMS, Stack


def test_bad_claims_are_422_with_the_failing_path(stack: Stack) -> None:
    bad = {**CIVIL_CLAIMS, "address": {"locality": "Praha", "country": "cz"}}
    with stack.api("civil") as api:
        answer = api.post(
            "/api/offers", json={"credential_configuration_id": "civil_identity", "claims": bad}
        )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "issuer.claims_invalid"
    assert body["path"] == ["address", "country"]
    assert "cz" not in body["error_description"]  # never echo personal data


def test_agency_cannot_issue_types_it_is_not_accredited_for(stack: Stack) -> None:
    claims = {
        "personal_id": "CZ-4471-0093",
        "given_name": "Alma",
        "family_name": "Novak",
        "birthdate": "1950-06-01",
        "social_security_number": "SSN-0001",
    }
    with stack.api("social") as api:
        ok = api.post(
            "/api/offers",
            json={"credential_configuration_id": "social_security_card", "claims": claims},
        )
        assert ok.status_code == 201, ok.text
        # A medical type: the agency's client has the scope, the ledger says no.
        medical = api.post(
            "/api/offers",
            json={
                "credential_configuration_id": "medical_insurance_card",
                "claims": {
                    "personal_id": "CZ-4471-0093",
                    "given_name": "Alma",
                    "family_name": "Novak",
                    "insurance_number": "INS-42",
                    "insurer": "VZP",
                    "coverage": "full",
                },
            },
        )
        # A civil type: not even in the token's scopes.
        civil = api.post(
            "/api/offers",
            json={"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS},
        )
    assert (medical.status_code, civil.status_code) == (403, 403)
    assert medical.json()["error"] == "issuer.not_accredited"
    assert civil.json()["govid_error"] == "oauth.insufficient_scope"


def test_client_credentials(stack: Stack) -> None:
    civil = stack.agencies["civil"]
    wrong = httpx.post(
        stack.url + "/token",
        data={"grant_type": "client_credentials"},
        auth=(civil.client_id, "not-the-secret"),
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    posted = httpx.post(
        stack.url + "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": civil.client_id,
            "client_secret": civil.client_secret,
            "scope": "civil_identity",
        },
    )
    assert posted.status_code == 200 and posted.json()["scope"] == "civil_identity"
    too_much = httpx.post(
        stack.url + "/token",
        data={"grant_type": "client_credentials", "scope": "pension"},
        auth=(civil.client_id, civil.client_secret),
    )
    # RFC 6749 §5.2: asking for more than was granted is invalid_scope.
    assert (too_much.status_code, too_much.json()["error"]) == (400, "invalid_scope")
    unknown = httpx.post(stack.url + "/token", data={"grant_type": "password"})
    assert unknown.json()["error"] == "unsupported_grant_type"
    no_auth = httpx.get(stack.url + "/api/credentials", params={"offer": "x"})
    assert no_auth.status_code == 401


def test_secrets_and_personal_data_are_not_stored_in_clear(stack: Stack) -> None:
    with stack.api("civil") as api:
        offer = api.post(
            "/api/offers",
            json={"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS},
        ).json()
    with stack.ctx.session() as session:
        agency = session.exec(select(AgencyRow).where(AgencyRow.slug == "civil")).one()
        client = session.exec(select(ClientRow).where(ClientRow.agency == "civil")).one()
        row = session.exec(select(OfferRow).where(OfferRow.id == offer["id"])).one()
        audit = session.exec(select(AuditRow).where(AuditRow.agency == "civil")).all()
    assert b'"d"' not in agency.keyring and b"EdDSA" not in agency.keyring
    assert stack.agencies["civil"].client_secret not in client.secret_hash
    assert row.claims is not None and b"Novak" not in row.claims
    assert offer["tx_code"] not in (row.tx_code_hash or "")
    assert "CZ-4471-0093" not in row.subject_hash
    actions = [a.action for a in audit]
    assert "offer.create" in actions and "agency.create" in actions
    for event in audit:
        assert "Novak" not in repr(event) and "CZ-4471" not in repr(event)
