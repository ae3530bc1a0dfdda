"""The engine against a real witnessed ledger: the happy path and the tampering catalogue.

Each tampering is named by the attack and asserts the failing check and its code.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from did.errors import MalformedInput
from did.keys import PrivateKey, generate_private_key
from did.sd_jwt import UnverifiedSDJWT, create_kb_jwt
from openid4vc.dcql import DCQLQuery
from registry.cosignature import CosignatureSigner
from tests.verifier.world import (
    AUD,
    CIVIL_VCT,
    MEDICAL_VCT,
    REVOKED_IDX,
    SUSPENDED_IDX,
    World,
    new_holder,
)
from verifier.engine import CHECKS, verify_presentation
from verifier.errors import EvidenceUnavailable
from verifier.lookups import CachingLookups, LedgerLookups
from verifier.policy import TrustPolicy
from verifier.report import VerificationReport, run_checks

NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def lookups(world: World) -> Iterator[LedgerLookups]:
    with world.lookups() as lk:
        yield lk


def civil_query(*paths: Sequence[str], vct: str = CIVIL_VCT) -> DCQLQuery:
    return DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "civil",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [vct]},
                    "claims": [{"path": list(p)} for p in paths],
                }
            ]
        }
    )


def check(
    world: World,
    presentation: str,
    lookups: LedgerLookups,
    now: datetime,
    *,
    query: DCQLQuery | None = None,
    policy: TrustPolicy | None = None,
    aud: str = AUD,
    nonce: str = NONCE,
) -> VerificationReport:
    return verify_presentation(
        presentation,
        expected_aud=aud,
        expected_nonce=nonce,
        query=None if query is None else query.credentials[0],
        policy=policy or world.policy(),
        lookups=lookups,
        now=now,
    )


def failed(report: VerificationReport) -> tuple[str, str | None]:
    assert not report.accepted
    outcome = report.failed
    assert outcome is not None and outcome.message
    # Every check before the failing one passed; every later one is listed as not run.
    names = [o.name for o in report.outcomes]
    assert (*names, *report.not_run) == CHECKS
    return outcome.name, outcome.code


def honest(world: World, now: datetime, holder: PrivateKey, **issue: Any) -> str:
    return World.present(world.issue(holder=holder, **issue), holder=holder, nonce=NONCE, now=now)


# --- the happy paths -------------------------------------------------------------------


def test_honest_presentation_is_accepted_with_every_check_named(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    query = civil_query(["given_name"], ["age_over_18"])
    report = check(world, honest(world, now, holder), lookups, now, query=query)
    assert report.accepted, report.to_json()
    assert [o.name for o in report.outcomes] == list(CHECKS)
    assert report.disclosed is not None
    # Only what was asked is handed on: family_name was disclosed but not requested.
    assert report.disclosed["given_name"] == "Erika"
    assert report.disclosed["age_over_18"] is True
    assert "family_name" not in report.disclosed
    assert report.disclosed["vct"] == CIVIL_VCT


def test_credential_signed_before_a_rotation_stays_valid(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    rotated = world.agencies["rotated"]
    credential = world.issue("rotated", holder=holder, key=rotated.old_key, kid=rotated.old_kid)
    presentation = World.present(credential, holder=holder, nonce=NONCE, now=now)
    report = check(world, presentation, lookups, now)
    assert report.accepted, report.to_json()


# --- the issuer ---------------------------------------------------------------------------


def test_forged_issuer_signature(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder, forger = new_holder(), generate_private_key("EdDSA")
    presentation = honest(world, now, holder, key=forger)
    assert failed(check(world, presentation, lookups, now)) == (
        "issuer_signature",
        "jose.signature_invalid",
    )


def test_unaccredited_issuer(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder, name="unaccredited")
    assert failed(check(world, presentation, lookups, now)) == (
        "issuer_accredited",
        "accreditation.missing",
    )


def test_issuer_key_rotated_out_before_issuance(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    rotated = world.agencies["rotated"]
    presentation = honest(
        world,
        now,
        holder,
        name="rotated",
        key=rotated.old_key,
        kid=rotated.old_kid,
        iat=world.after_window("rotated"),
    )
    assert failed(check(world, presentation, lookups, now)) == (
        "issuer_signature",
        "issuer_key.not_valid_at_issuance",
    )


def test_issuer_key_revoked_as_compromised(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    agency = world.agencies["compromised"]
    # Inside key-1's old window: compromise invalidates it whatever the dates.
    presentation = honest(world, now, holder, name="compromised", key=agency.old_key)
    assert failed(check(world, presentation, lookups, now)) == (
        "issuer_signature",
        "issuer_key.compromised",
    )


def test_deactivated_issuer(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder, name="deactivated")
    assert failed(check(world, presentation, lookups, now)) == (
        "issuer_signature",
        "did.deactivated",
    )


def test_credential_type_the_deployment_does_not_accept(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    policy = world.policy(accepted_vcts=frozenset({MEDICAL_VCT}))
    presentation = honest(world, now, holder)
    assert failed(check(world, presentation, lookups, now, policy=policy)) == (
        "issuer_accredited",
        "policy.vct_not_accepted",
    )


# --- disclosures and dates ------------------------------------------------------------------


def test_disclosure_swapped_from_another_credential(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    mine = UnverifiedSDJWT.parse(world.issue(holder=holder))
    other = UnverifiedSDJWT.parse(
        world.issue(
            holder=holder,
            claims={"given_name": "Max", "family_name": "Other"},
            disclosable=[["given_name"], ["family_name"]],
        )
    )
    # The holder's own key signs the KB-JWT, so only the digest check can catch it.
    sd_jwt = f"{mine.issuer_jwt}~{other.disclosures[0].encoded}~"
    kb = create_kb_jwt(sd_jwt, holder_key=holder, aud=AUD, nonce=NONCE, now=now)
    assert failed(check(world, sd_jwt + kb, lookups, now)) == (
        "disclosures",
        "sd_jwt.digest_mismatch",
    )


def test_duplicate_disclosure(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    mine = UnverifiedSDJWT.parse(world.issue(holder=holder))
    first = mine.disclosures[0].encoded
    sd_jwt = f"{mine.issuer_jwt}~{first}~{first}~"
    kb = create_kb_jwt(sd_jwt, holder_key=holder, aud=AUD, nonce=NONCE, now=now)
    assert failed(check(world, sd_jwt + kb, lookups, now)) == (
        "disclosures",
        "sd_jwt.disclosure_duplicate",
    )


def test_expired_credential(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    iat = world.valid_iat("civil")
    presentation = honest(world, now, holder, iat=iat, exp=iat + timedelta(seconds=1))
    later = max(now, iat + timedelta(minutes=10))
    presentation = World.present(
        world.issue(holder=holder, iat=iat, exp=iat + timedelta(seconds=1)),
        holder=holder,
        nonce=NONCE,
        now=later,
    )
    assert failed(check(world, presentation, lookups, later)) == (
        "validity_window",
        "jwt.expired",
    )


# --- key binding ----------------------------------------------------------------------------


def test_kb_jwt_signed_by_another_key(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder, thief = new_holder(), new_holder()
    presentation = World.present(world.issue(holder=holder), holder=thief, nonce=NONCE, now=now)
    assert failed(check(world, presentation, lookups, now)) == (
        "key_binding",
        "jose.signature_invalid",
    )


@pytest.mark.parametrize(
    ("attack", "code"),
    [("wrong-aud", "kb_jwt.aud_mismatch"), ("wrong-nonce", "kb_jwt.nonce_mismatch")],
)
def test_kb_jwt_for_another_transaction(
    world: World, lookups: LedgerLookups, now: datetime, attack: str, code: str
) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder)
    aud, nonce = "decentralized_identifier:did:govid:other", NONCE
    if attack == "wrong-nonce":
        aud, nonce = AUD, "another-nonce"
    report = check(world, presentation, lookups, now, aud=aud, nonce=nonce)
    assert failed(report) == ("key_binding", code)


def test_kb_jwt_stale_iat(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    presentation = World.present(
        world.issue(holder=holder), holder=holder, nonce=NONCE, now=now - timedelta(minutes=30)
    )
    assert failed(check(world, presentation, lookups, now)) == ("key_binding", "kb_jwt.stale")


def test_kb_jwt_sd_hash_after_dropping_a_disclosure(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder)
    head, *disclosures, kb = presentation.split("~")
    trimmed = "~".join([head, *disclosures[1:], kb])
    assert failed(check(world, trimmed, lookups, now)) == (
        "key_binding",
        "kb_jwt.sd_hash_mismatch",
    )


def test_presentation_without_key_binding(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    presentation = world.issue(holder=holder)  # the issued SD-JWT, no KB-JWT
    assert failed(check(world, presentation, lookups, now)) == ("key_binding", "kb_jwt.missing")


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("idx", "code"), [(REVOKED_IDX, "status.revoked"), (SUSPENDED_IDX, "status.suspended")]
)
def test_revoked_and_suspended(
    world: World, lookups: LedgerLookups, now: datetime, idx: int, code: str
) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder, idx=idx)
    assert failed(check(world, presentation, lookups, now)) == ("status", code)


def test_status_list_too_old(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder)
    policy = world.policy(status_list_max_age=timedelta(seconds=0), skew=timedelta(seconds=0))
    later = now + timedelta(seconds=30)
    presentation = World.present(world.issue(holder=holder), holder=holder, nonce=NONCE, now=later)
    assert failed(check(world, presentation, lookups, later, policy=policy)) == (
        "status",
        "status_list.token_invalid",
    )


class _Unreachable:
    """A registry that answers DIDs and accreditations but not status lists."""

    def __init__(self, inner: LedgerLookups, *, down: bool = True) -> None:
        self.inner, self.down = inner, down

    def did_proof(self, did: str) -> Mapping[str, Any]:
        return self.inner.did_proof(did)

    def accreditation_proofs(self, did: str) -> Sequence[Mapping[str, Any]]:
        return self.inner.accreditation_proofs(did)

    def status_list_proof(self, issuer: str, uri: str) -> Mapping[str, Any]:
        if self.down:
            raise EvidenceUnavailable("the registry could not be reached")
        return self.inner.status_list_proof(issuer, uri)


def test_status_list_unreachable_fails_closed(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder)
    assert failed(check(world, presentation, _Unreachable(lookups), now)) == (
        "status",
        "ledger.evidence_unavailable",
    )


def test_cache_bridges_a_short_network_loss_but_not_a_long_one(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    clock = [now]
    flaky = _Unreachable(lookups, down=False)
    cached = CachingLookups(
        flaky,
        clock=lambda: clock[0],
        fresh_for=timedelta(seconds=10),
        stale_for=timedelta(minutes=5),
    )
    assert check(world, honest(world, now, holder), cached, now).accepted
    flaky.down = True
    clock[0] = now + timedelta(minutes=2)  # past fresh, inside stale: the cached copy serves
    later = clock[0]
    presentation = World.present(world.issue(holder=holder), holder=holder, nonce=NONCE, now=later)
    assert check(world, presentation, cached, later).accepted
    clock[0] = now + timedelta(minutes=6)  # past the staleness bound: refuse
    later = clock[0]
    presentation = World.present(world.issue(holder=holder), holder=holder, nonce=NONCE, now=later)
    assert failed(check(world, presentation, cached, later)) == (
        "status",
        "ledger.evidence_unavailable",
    )


def test_cached_status_lists_have_their_own_shorter_bound(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    """govid issue 13 item 4: while the registry is down, a cached status list serves
    for `status_stale_for` only, however long DIDs and accreditations still serve."""
    holder = new_holder()
    clock = [now]
    flaky = _Unreachable(lookups, down=False)
    cached = CachingLookups(
        flaky,
        clock=lambda: clock[0],
        fresh_for=timedelta(seconds=10),
        stale_for=timedelta(minutes=15),
        status_stale_for=timedelta(minutes=2),
    )
    assert check(world, honest(world, now, holder), cached, now).accepted
    flaky.down = True
    for minutes, accepted in ((1, True), (3, False)):
        clock[0] = now + timedelta(minutes=minutes)
        view = cached.tracking()
        presentation = honest(world, clock[0], holder)
        report = check(world, presentation, view, clock[0])
        if accepted:
            assert report.accepted
            assert view.evidence().to_json() == {
                "offline": True,
                "cached": True,
                "age_seconds": minutes * 60,
            }
        else:
            assert failed(report) == ("status", "ledger.evidence_unavailable")


# --- the ledger proof ----------------------------------------------------------------------


def test_checkpoint_not_cosigned_by_enough_witnesses(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    signer = CosignatureSigner("absent-witness.example", Ed25519PrivateKey.generate())
    absent = signer.verifier().to_vkey()
    policy = world.policy(ledger=world.ledger_trust(extra_witnesses=[absent], quorum=2))
    presentation = honest(world, now, holder)
    assert failed(check(world, presentation, lookups, now, policy=policy)) == (
        "ledger_proof",
        "witness.policy_unsatisfied",
    )


def test_checkpoint_cosigned_too_long_ago(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    trust = world.ledger_trust()
    policy = world.policy(
        ledger=type(trust)(trust.origin, trust.log_verifier, trust.policy, timedelta(minutes=1))
    )
    later = now + timedelta(minutes=10)
    presentation = World.present(world.issue(holder=holder), holder=holder, nonce=NONCE, now=later)
    assert failed(check(world, presentation, lookups, later, policy=policy)) == (
        "ledger_proof",
        "witness.policy_unsatisfied",
    )


class _Swapped:
    """A hostile registry: the status list entry comes with another entry's inclusion path."""

    def __init__(self, inner: LedgerLookups, issuer: str) -> None:
        self.inner, self.issuer = inner, issuer

    def did_proof(self, did: str) -> Mapping[str, Any]:
        return self.inner.did_proof(did)

    def accreditation_proofs(self, did: str) -> Sequence[Mapping[str, Any]]:
        return self.inner.accreditation_proofs(did)

    def status_list_proof(self, issuer: str, uri: str) -> Mapping[str, Any]:
        proof = copy.deepcopy(dict(self.inner.status_list_proof(issuer, uri)))
        other = self.inner.did_proof(self.issuer)  # the issuer's did.create, a real entry
        proof["inclusionPath"] = other["inclusionPath"]
        proof["index"] = other["index"]
        return proof


def test_inclusion_proof_for_a_different_entry(
    world: World, lookups: LedgerLookups, now: datetime
) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder)
    hostile = _Swapped(lookups, world.agencies["civil"].did)
    assert failed(check(world, presentation, hostile, now)) == (
        "ledger_proof",
        "ledger.inclusion_proof_invalid",
    )


# --- the query ----------------------------------------------------------------------------------


def test_wrong_vct(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder, vct=MEDICAL_VCT)
    report = check(world, presentation, lookups, now, query=civil_query(["given_name"]))
    assert failed(report) == ("requested_claims", "dcql.vct_mismatch")


def test_missing_requested_claim(world: World, lookups: LedgerLookups, now: datetime) -> None:
    holder = new_holder()
    presentation = honest(world, now, holder)  # discloses names and age, not nationality
    query = civil_query(["given_name"], ["nationality"])
    assert failed(check(world, presentation, lookups, now, query=query)) == (
        "requested_claims",
        "dcql.claims_not_satisfied",
    )


# --- input that is not a presentation ------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "not-a-jwt", "a.b.c", "~~", "x" * 100])
def test_malformed_presentation_raises_malformed_input(
    world: World, lookups: LedgerLookups, now: datetime, text: str
) -> None:
    with pytest.raises(MalformedInput):
        check(world, text, lookups, now)


def test_an_empty_report_accepts_nothing() -> None:
    assert not run_checks([]).accepted
