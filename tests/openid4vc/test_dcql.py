"""One DCQL for both sides: what the wallet selects is what the verifier then accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openid4vc.dcql import (
    DCQLQuery,
    match_credential,
    resolve_path,
    select_claims,
    select_credentials,
)
from openid4vc.errors import ClaimsNotSatisfied, QueryInvalid

VCT = "https://govid.example/credentials/civil_identity"
CLAIMS: dict[str, Any] = {
    "given_name": "Wei",
    "age_over_18": True,
    "address": {"locality": "Hangzhou", "postal_code": "310000"},
    "nationalities": ["CN"],
}


def _query(claims: list[dict[str, Any]], **extra: Any) -> DCQLQuery:
    return DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "pid",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [VCT]},
                    "claims": claims,
                    **extra,
                }
            ]
        }
    )


@pytest.mark.parametrize(
    ("claims", "extra"),
    [
        ([{"path": ["given_name"]}, {"path": ["address", "locality"]}], {}),
        ([{"path": ["nationalities", None]}], {}),
        ([{"path": ["age_over_18"], "values": [True]}], {}),
        (
            [
                {"id": "a", "path": ["passport_number"]},
                {"id": "b", "path": ["given_name"]},
                {"id": "c", "path": ["age_over_18"]},
            ],
            {"claim_sets": [["a"], ["b", "c"]]},
        ),
    ],
)
def test_the_wallet_selects_what_the_verifier_then_matches(
    claims: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    query = _query(claims, **extra).credentials[0]
    chosen = select_claims(query, vct=VCT, claims=CLAIMS)
    assert chosen is not None
    disclosed = match_credential(query, vct=VCT, claims=CLAIMS)
    for claim in chosen:  # every selected path is in what the verifier hands on
        assert resolve_path(disclosed, claim.path) == resolve_path(CLAIMS, claim.path)


def test_both_sides_refuse_the_same_credentials() -> None:
    query = _query([{"path": ["age_over_18"], "values": [1]}]).credentials[0]
    # A JSON true is not the integer 1 (§6.4.2: type and value), on both sides.
    assert select_claims(query, vct=VCT, claims=CLAIMS) is None
    with pytest.raises(ClaimsNotSatisfied):
        match_credential(query, vct=VCT, claims=CLAIMS)
    assert select_claims(query, vct="https://other.example", claims=CLAIMS) is None


def test_credential_sets_choose_the_first_answerable_option() -> None:
    query = DCQLQuery.parse(
        {
            "credentials": [
                {"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}},
                {"id": "b", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}},
            ],
            "credential_sets": [{"options": [["a"], ["b"]]}],
        }
    )
    assert select_credentials(query, {"b"}) == (["b"], True)
    assert select_credentials(query, set()) == ([], False)


def test_another_format_is_refused_at_parse_time() -> None:
    with pytest.raises(QueryInvalid):
        DCQLQuery.parse({"credentials": [{"id": "m", "format": "mso_mdoc", "meta": {}}]})


# OpenID4VP 1.0 §6 examples: the dc+sd-jwt ones parse and serialise back; the
# mdoc ones are refused (this implementation asks for SD-JWT VCs only).
SD_JWT_EXAMPLES = [
    "simple.json",
    "claims_alternatives.json",
    "value_matching_simple.json",
    "multi_credentials.json",
    "credentials_alternatives.json",
]


@pytest.mark.parametrize("name", [*SD_JWT_EXAMPLES, "simple_mdoc.json", "complex_mdoc.json"])
def test_oid4vp_1_0_section_6_query_examples(name: str, vector: Callable[[str], Any]) -> None:
    example = vector(f"openid4vc/oid4vp-1.0/examples/query_lang/{name}")
    formats = {c.get("format") for c in example["credentials"]}
    if formats != {"dc+sd-jwt"}:
        with pytest.raises(QueryInvalid):
            DCQLQuery.parse(example)
        return
    query = DCQLQuery.parse(example)
    assert DCQLQuery.parse(query.to_json()) == query
