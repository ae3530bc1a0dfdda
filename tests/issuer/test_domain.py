"""Pure parts: credential types, derived claims, sealing, secrets, status transitions."""

from __future__ import annotations

import random
from datetime import date

import pytest

from did.status_list import StatusType
from issuer.credential_types import (
    credential_type,
    credential_types,
    derive_claims,
    disclosable_paths,
    validate_claims,
)
from issuer.errors import (
    ClaimsInvalid,
    KEKInvalid,
    SealedDataInvalid,
    StatusListFull,
    StatusTransitionInvalid,
)
from issuer.keys_at_rest import KEK, new_kek_text
from issuer.oauth import new_tx_code
from issuer.status import next_status, pick_index
from service.oauth import hash_client_secret, verify_client_secret

REQUIRED_TYPES = {
    "civil_identity",
    "birth_certificate",
    "marriage_certificate",
    "residence_permit",
    "medical_insurance_card",
    "vaccination_record",
    "disability_status",
    "social_security_card",
    "benefit_eligibility",
}


def test_every_required_type_is_shipped_with_a_schema() -> None:
    assert REQUIRED_TYPES <= set(credential_types())
    for ctype in credential_types().values():
        assert ctype.schema["type"] == "object"
        assert ctype.subject_id_claim in ctype.schema["required"]


@pytest.mark.parametrize(
    ("born", "today", "over_18"),
    [
        ("2000-06-01", date(2018, 5, 31), False),
        ("2000-06-01", date(2018, 6, 1), True),
        ("2000-02-29", date(2018, 2, 28), False),  # the birthday is 1 March
        ("2000-02-29", date(2018, 3, 1), True),
    ],
)
def test_age_over_is_derived_for_the_issuance_date(born: str, today: date, over_18: bool) -> None:
    ctype = credential_type("social_security_card")
    claims = {
        "personal_id": "X-1234",
        "given_name": "A",
        "family_name": "B",
        "birthdate": born,
        "social_security_number": "SSN-1",
    }
    validate_claims(ctype, claims)
    derived = derive_claims(ctype, claims, today=today)
    assert derived["age_over_18"] is over_18 and derived["age_over_65"] is False


def test_array_elements_are_disclosable_one_by_one() -> None:
    ctype = credential_type("vaccination_record")
    claims = {
        "personal_id": "X-1234",
        "given_name": "A",
        "family_name": "B",
        "vaccinations": [
            {"disease": "measles", "vaccine": "MMR", "date": "2001-01-01"},
            {"disease": "tetanus", "vaccine": "Td", "date": "2011-01-01", "dose_number": 2},
        ],
    }
    validate_claims(ctype, claims)
    paths = disclosable_paths(ctype, claims)
    assert ("vaccinations", 0) in paths and ("vaccinations", 1) in paths
    with pytest.raises(ClaimsInvalid) as bad:
        validate_claims(ctype, {**claims, "vaccinations": [{"disease": "x", "vaccine": "y"}]})
    assert bad.value.path == ("vaccinations", 0, "date")


def test_sealed_values_open_only_with_their_key_and_row() -> None:
    kek = KEK.parse(new_kek_text())
    blob = kek.seal(b"secret", aad=b"row-1")
    assert kek.open(blob, aad=b"row-1") == b"secret"
    with pytest.raises(SealedDataInvalid):
        kek.open(blob, aad=b"row-2")
    with pytest.raises(SealedDataInvalid):
        KEK.parse(new_kek_text()).open(blob, aad=b"row-1")
    with pytest.raises(SealedDataInvalid):
        kek.open(blob[:-1] + bytes([blob[-1] ^ 1]), aad=b"row-1")
    for bad in (None, "", "short", "!" * 43):
        with pytest.raises(KEKInvalid):
            KEK.parse(bad)
    assert "secret" not in repr(kek) and kek.key.hex() not in repr(kek)


def test_client_secrets_and_tx_codes() -> None:
    stored = hash_client_secret("s3cret")
    assert verify_client_secret("s3cret", stored)
    assert not verify_client_secret("s3cret!", stored)
    assert not verify_client_secret("s3cret", "garbage")
    code = new_tx_code(6)
    assert len(code) == 6 and code.isdigit()


def test_status_transitions() -> None:
    assert next_status(StatusType.VALID, "suspend") == StatusType.SUSPENDED
    assert next_status(StatusType.SUSPENDED, "reinstate") == StatusType.VALID
    assert next_status(StatusType.SUSPENDED, "revoke") == StatusType.INVALID
    assert next_status(StatusType.INVALID, "revoke") == StatusType.INVALID
    for action in ("suspend", "reinstate"):
        with pytest.raises(StatusTransitionInvalid):
            next_status(StatusType.INVALID, action)


def test_pick_index_is_random_and_gives_up_on_a_full_list() -> None:
    rng = random.Random(7)
    taken = {3, 5}
    picks = {pick_index(131_072, taken.__contains__, rng) for _ in range(50)}
    assert len(picks) == 50 and not picks & taken
    with pytest.raises(StatusListFull):
        pick_index(8, lambda _: True, rng)
