"""The Credential Offer and its link: what the issuer writes, the wallet reads back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuer.openid4vci import credential_offer
from openid4vc.errors import OfferInvalid
from openid4vc.issuance import (
    OFFER_SCHEME,
    PRE_AUTHORIZED_GRANT,
    CredentialOffer,
    offer_link,
    parse_offer_uri,
)


def test_the_offer_scheme_is_the_one_section_4_1_names() -> None:
    assert OFFER_SCHEME == "openid-credential-offer://"
    assert offer_link("https://issuer.example/o/1").startswith("openid-credential-offer://?")


@given(st.text(min_size=1, max_size=200))
def test_an_offer_link_reads_back_its_uri(path: str) -> None:
    uri = "https://issuer.example/credential-offers/" + path
    assert parse_offer_uri(offer_link(uri)) == (uri, None)


@given(
    configuration=st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
    code=st.text(min_size=1, max_size=64),
    length=st.integers(4, 8),
)
def test_the_issuers_offer_parses_to_the_same_offer(
    configuration: str, code: str, length: int
) -> None:
    written = credential_offer(
        credential_issuer="https://issuer.example/agencies/civil",
        configuration_id=configuration,
        pre_authorized_code=code,
        tx_code_length=length,
    )
    offer = CredentialOffer.parse(written)
    assert offer.pre_authorized_code == code
    assert offer.configuration_ids == (configuration,)
    assert offer.tx_code is not None and offer.tx_code["length"] == length
    assert offer.to_json() == written


def test_an_offer_without_a_pre_authorized_grant_parses_without_a_code() -> None:
    offer = CredentialOffer.parse(
        {"credential_issuer": "https://i.example", "credential_configuration_ids": ["x"]}
    )
    assert offer.pre_authorized_code is None


@pytest.mark.parametrize(
    "obj",
    [
        [],
        {"credential_configuration_ids": ["x"]},
        {"credential_issuer": "https://i.example", "credential_configuration_ids": []},
        {"credential_issuer": "https://i.example", "credential_configuration_ids": ["x", "x"]},
        {
            "credential_issuer": "https://i.example",
            "credential_configuration_ids": ["x"],
            "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": ""}},
        },
        {
            "credential_issuer": "https://i.example",
            "credential_configuration_ids": ["x"],
            "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "c", "tx_code": 6}},
        },
    ],
)
def test_malformed_offers(obj: object) -> None:
    with pytest.raises(OfferInvalid) as caught:
        CredentialOffer.parse(obj)
    assert caught.value.code == "oid4vci.offer_invalid"


@pytest.mark.parametrize(
    "name", ["credential_offer_pre-authz_code.json", "credential_offer_by_reference.json"]
)
def test_oid4vci_1_0_section_4_1_1_offer_examples(name: str, vector: Callable[[str], Any]) -> None:
    example = vector(f"openid4vc/oid4vci-1.0/examples/{name}")
    offer = CredentialOffer.parse(example)
    assert offer.pre_authorized_code == "adhjhdjajkdkhjhdj"
    assert offer.to_json() == example
