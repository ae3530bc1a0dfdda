"""Issue 13 items 5, 6 and 10: attacks on the ledger's trust rules, judged by the verifier.

A real registry and witness on loopback (`running_world`); each test makes
its own agencies on it, performs the attack over HTTP, and asks the engine
(with `RegistryLookups`, i.e. over HTTP too) whether a counter would trust
the result. Method spec §5.5.3, §5.7, §6.4.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from did.status_list import StatusList
from did.status_list_token import build_status_list_token
from registry import authoring
from registry.authoring import op_hash_of
from tests.verifier.world import (
    AUD,
    CIVIL_VCT,
    MEDICAL_VCT,
    Agency,
    World,
    _submit,
    _wait_cosigned,
    new_holder,
    running_world,
)
from verifier.engine import verify_presentation
from verifier.report import VerificationReport

NONCE = "trust-attack-nonce"
YEAR = 365 * 86400
NOW = int(time.time())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # A world of its own: these tests revoke, compromise and squat.
    with running_world(tmp_path_factory.mktemp("trust-world")) as built:
        yield built


def _agency(world: World, name: str) -> Agency:
    keyring, op = authoring.create_did(ledger=world.origin)
    _submit(world.url, op)
    world.agencies[name] = agency = Agency(keyring)
    return agency


def _grant(
    world: World,
    accreditor: authoring.Keyring,
    subject: Agency,
    *,
    role: str = "issuer",
    types: Sequence[str] = (CIVIL_VCT,),
) -> tuple[authoring.Keyring, str, int]:
    accreditor, op = authoring.grant(
        accreditor, subject=subject.did, role=role, credential_types=list(types),
        valid_from=NOW - 3600, valid_until=NOW + YEAR,  # one end: a sub-grant fits inside
    )  # fmt: skip
    return accreditor, op_hash_of(op), _submit(world.url, op)


def _publication(
    agency: Agency,
    uri: str,
    *,
    sequence: int = 1,
    statuses: Mapping[int, int] | None = None,
    types: Sequence[str] = (CIVIL_VCT,),
) -> str:
    token = build_status_list_token(
        StatusList.new(1024, 2).with_changes(dict(statuses or {})),
        key=agency.keyring.signing_key(),
        uri=uri,
        iat=math.ceil(time.time()),
        ttl=300,
        kid=agency.keyring.signing_kid,
        iss=agency.did,
    )
    _, op = authoring.publish_status_list(
        agency.keyring, uri=uri, sequence=sequence, token=token, credential_types=list(types)
    )
    return op


def _publish(world: World, agency: Agency, uri: str, **kw: Any) -> int:
    agency.status_uri = uri
    return _submit(world.url, _publication(agency, uri, **kw))


def _settle(world: World, index: int, name: str) -> None:
    """Wait until a cosigned checkpoint covers `index`; note `name`'s key history."""
    _wait_cosigned(world.url, index)
    did = world.agencies[name].did
    body = httpx.get(f"{world.url}/1.0/identifiers/{did}", timeout=10).json()
    world.key_history[name] = body["didDocumentMetadata"]["keyHistory"]


def _verify(world: World, name: str, *, iat: datetime | None = None, **issue: Any) -> str:
    holder = new_holder()
    now = datetime.now(UTC)
    credential = world.issue(name, holder=holder, iat=iat, **issue)
    presentation = World.present(credential, holder=holder, nonce=NONCE, now=now)
    with world.lookups() as lookups:
        report = verify_presentation(
            presentation,
            expected_aud=AUD,
            expected_nonce=NONCE,
            query=None,
            policy=world.policy(),
            lookups=lookups,
            now=now,
        )
    return _outcome(report)


def _outcome(report: VerificationReport) -> str:
    if report.accepted:
        return "accepted"
    assert report.failed is not None
    return f"{report.failed.name}: {report.failed.code}"


def _wait_past(ms: float) -> None:
    """Wait until the wall clock (the registry's log clock) is past `ms`."""
    while time.time() * 1000 <= ms:
        time.sleep(0.01)


# --- item 5 --------------------------------------------------------------------------------


def test_squatting_an_agencys_future_list_uri_does_not_stop_its_credentials(
    world: World,
) -> None:
    victim, squatter = _agency(world, "victim"), _agency(world, "squatter")
    world.root, _, _ = _grant(world, world.root, victim)
    world.root, _, _ = _grant(world, world.root, squatter)
    # The victim's lists are numbered: the squatter takes the next uri first,
    # with every index revoked.
    uri = "https://victim.example/status/2"
    _publish(world, squatter, uri, statuses=dict.fromkeys(range(1024), 1))
    last = _publish(world, victim, uri)
    _settle(world, last, "victim")
    assert _verify(world, "victim", idx=5) == "accepted"


# --- item 6 --------------------------------------------------------------------------------


def test_back_dating_iat_before_a_revocation_is_not_trusted(world: World) -> None:
    agency = _agency(world, "revoked")
    world.root, civil, _ = _grant(world, world.root, agency)
    last = _publish(world, agency, "https://revoked.example/status/1")
    _settle(world, last, "revoked")
    honest_iat = world.valid_iat("revoked")
    assert _verify(world, "revoked", iat=honest_iat) == "accepted"

    # The accreditation is revoked after a credential with `iat` honest_iat
    # could have been issued: the issuer keeps issuing with that `iat`.
    _wait_past(honest_iat.timestamp() * 1000)
    world.root, revoke = authoring.revoke_accreditation(world.root, accreditation=civil)
    _wait_cosigned(world.url, _submit(world.url, revoke))
    assert _verify(world, "revoked", iat=honest_iat) == ("issuer_accredited: accreditation.revoked")
    # Nor can it keep the type's list fresh on the ledger.
    op = _publication(agency, "https://revoked.example/status/1", sequence=2)
    refused = httpx.post(world.url + "/operations", json={"operation": op}, timeout=30)
    assert (refused.status_code, refused.json()["error"]) == (422, "ledger.accreditation_required")


def test_a_list_answers_only_for_the_types_it_declares(world: World) -> None:
    agency = _agency(world, "two-types")
    world.root, _, _ = _grant(world, world.root, agency, types=(CIVIL_VCT, MEDICAL_VCT))
    last = _publish(world, agency, "https://two-types.example/status/1", types=(CIVIL_VCT,))
    _settle(world, last, "two-types")
    assert _verify(world, "two-types") == "accepted"
    assert _verify(world, "two-types", vct=MEDICAL_VCT) == ("status: status_list.type_not_covered")


# --- item 10 -------------------------------------------------------------------------------


def test_accreditation_granted_with_a_key_later_compromised_is_not_trusted(
    world: World,
) -> None:
    accreditor, agency = _agency(world, "accreditor"), _agency(world, "sub-issuer")
    world.root, _, _ = _grant(world, world.root, accreditor, role="accreditor")
    accreditor.keyring, _, _ = _grant(world, accreditor.keyring, agency)
    last = _publish(world, agency, "https://sub-issuer.example/status/1")
    _settle(world, last, "sub-issuer")
    assert _verify(world, "sub-issuer") == "accepted"

    # The accreditor's #key-1, which signed the grant, was stolen and is marked
    # compromised: the thief could have granted (or back-dated) anything with it.
    accreditor.keyring, rotation = authoring.rotate(accreditor.keyring, compromised=True)
    _wait_cosigned(world.url, _submit(world.url, rotation))
    assert _verify(world, "sub-issuer") == (
        "issuer_accredited: accreditation.grant_key_compromised"
    )

    # Granted again with the accreditor's new key: trusted again.
    accreditor.keyring, _, index = _grant(world, accreditor.keyring, agency)
    _wait_cosigned(world.url, index)
    assert _verify(world, "sub-issuer") == "accepted"
