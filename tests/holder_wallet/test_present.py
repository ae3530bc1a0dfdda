"""Presenting over OpenID4VP: the request is verified, consent lists what is asked, the
reference `sd-jwt` verifier accepts what is sent, and the history records it."""

from __future__ import annotations

from typing import Any

import pytest

from did.errors import GovidError
from holder_wallet.wallet import Wallet
from tests.holder_wallet.world import TX_CODE, World, civil_query


def _holding(world: World, wallet: Wallet) -> str:
    return wallet.receive(world.issuer.offer()[0], TX_CODE)[0]


def test_consent_then_approve_sends_only_what_is_asked(world: World, wallet: Wallet) -> None:
    cid = _holding(world, wallet)
    uri, session = world.verifier.request()
    consent = wallet.prepare(uri)
    assert session.received == [], "nothing is sent before approval"
    [item] = consent.items
    assert item.credential_id == cid
    assert [c["label"] for c in item.claims] == ["Given name", "Family name", "Over 18"]
    assert consent.request.verifier_did == world.ledger.dids["counter"].did
    assert "Town Hall Counter 3" in consent.text()

    answer = wallet.approve(consent)
    assert answer == {"status": "accepted"}
    assert session.verified is not None
    [payload] = session.verified["civil"]
    assert payload["given_name"] == "Erika" and payload["age_over_18"] is True
    for withheld in ("birthdate", "personal_id", "address"):
        assert withheld not in payload

    [entry] = wallet.history()
    assert entry["verifier"] == world.ledger.dids["counter"].did
    assert entry["claims"] == ["Given name", "Family name", "Over 18"]
    assert entry["outcome"] == "sent"


def test_each_presentation_uses_a_fresh_copy(world: World, wallet: Wallet) -> None:
    _holding(world, wallet)
    keys = []
    for _ in range(3):
        uri, session = world.verifier.request()
        wallet.approve(wallet.prepare(uri))
        assert session.verified is not None
        keys.append(str(session.verified["civil"][0]["cnf"]["jwk"]))
    assert len(set(keys)) == 3, "three presentations, three unlinkable copies"


def test_decline_sends_no_credential(world: World, wallet: Wallet) -> None:
    _holding(world, wallet)
    uri, session = world.verifier.request()
    wallet.decline(wallet.prepare(uri))
    assert [r["vp_token"] for r in session.received] == [None]
    assert session.received[0]["error"] == "access_denied"
    assert wallet.history()[0]["outcome"] == "declined"


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        ({"unsigned": True}, "wallet.request_unverified"),
        ({"signer": "rogue"}, "wallet.request_unverified"),
        ({"client": "nosy", "signer": "nosy"}, "wallet.verifier_not_accredited"),
        (
            {"client": "limited", "signer": "limited"},
            "wallet.verifier_not_accredited",
        ),  # asks names, accredited for age_over_18 only
    ],
    ids=["unsigned", "signed-by-another-did", "unaccredited-verifier", "more-than-accredited"],
)
def test_malicious_requests_are_refused_and_nothing_sent(
    world: World, wallet: Wallet, behaviour: dict[str, Any], code: str
) -> None:
    _holding(world, wallet)
    uri, session = world.verifier.request(**behaviour)
    with pytest.raises(GovidError) as caught:
        wallet.prepare(uri)
    assert caught.value.code == code
    assert session.received == []
    assert wallet.history() == []


def test_limited_verifier_within_its_accreditation_is_served(world: World, wallet: Wallet) -> None:
    _holding(world, wallet)
    uri, session = world.verifier.request(
        civil_query([["age_over_18"]]), client="limited", signer="limited"
    )
    wallet.approve(wallet.prepare(uri))
    assert session.verified is not None
    payload = session.verified["civil"][0]
    assert payload["age_over_18"] is True and "given_name" not in payload


def test_no_matching_credential_is_shown_not_sent(world: World, wallet: Wallet) -> None:
    uri, session = world.verifier.request()
    consent = wallet.prepare(uri)
    assert not consent.satisfiable
    assert consent.items[0].credential_id is None
    with pytest.raises(GovidError) as caught:
        wallet.approve(consent)
    assert caught.value.code == "wallet.no_matching_credential"
    assert session.received == []
