"""SD-JWT VC issuance and verification rules (dc+sd-jwt, vct, iss, cnf, status)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from did.errors import GovidError
from did.jose import sign_jws
from did.keys import generate_private_key
from did.sd_jwt import (
    NON_DISCLOSABLE,
    issue_sd_jwt,
    issue_sd_jwt_vc,
    parse_sd_jwt,
    present_sd_jwt,
    verify_sd_jwt_vc,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ISSUER = generate_private_key("EdDSA")
HOLDER = generate_private_key("EdDSA")
VCT = "https://credentials.govid.example/civil_identity"
STATUS = {"status_list": {"idx": 4711, "uri": "https://issuer.example/statuslists/1"}}


def _issue(**kwargs: Any) -> str:
    options: dict[str, Any] = {
        "issuer_key": ISSUER,
        "iss": "did:example:civil",
        "vct": VCT,
        "iat": NOW - timedelta(days=1),
        "exp": NOW + timedelta(days=365),
        "holder_key": HOLDER.public_key(),
        "status": STATUS,
        "disclosable": [("given_name",), ("birthdate",), ("address",), ("address", "locality")],
    }
    options.update(kwargs)
    claims = options.pop(
        "claims",
        {
            "given_name": "Ada",
            "birthdate": "1815-12-10",
            "address": {"locality": "London", "country": "GB"},
        },
    )
    return issue_sd_jwt_vc(claims, **options).serialize()


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(GovidError) as exc:
        call()
    return exc.value.code


def test_issue_present_verify() -> None:
    presentation = present_sd_jwt(
        _issue(),
        disclose=[("address",)],
        holder_key=HOLDER,
        aud="https://counter.example",
        nonce="n1",
        now=NOW,
    )
    result = verify_sd_jwt_vc(
        presentation,
        issuer_key=ISSUER.public_key(),
        now=NOW,
        expected_aud="https://counter.example",
        expected_nonce="n1",
    )
    assert result.vct == VCT
    assert result.iss == "did:example:civil"
    assert result.status == STATUS
    # A path selects the claim and everything beneath it.
    assert result.claims["address"] == {"locality": "London", "country": "GB"}
    assert "given_name" not in result.claims and "birthdate" not in result.claims
    header = parse_sd_jwt(presentation).jws.header
    assert header["typ"] == "dc+sd-jwt"


@pytest.mark.parametrize("name", sorted(NON_DISCLOSABLE | {"iat"}))
def test_registered_claims_cannot_be_issued_disclosable(name: str) -> None:
    assert _code(lambda: _issue(disclosable=[(name,)])) == "sd_jwt_vc.claim_not_disclosable"


def test_registered_claims_are_set_through_arguments() -> None:
    with pytest.raises(ValueError):
        _issue(claims={"vct": "other"})


def _raw_vc(payload: dict[str, Any], typ: str = "dc+sd-jwt") -> str:
    return sign_jws(json.dumps(payload).encode(), ISSUER, typ=typ) + "~"


BASE: dict[str, Any] = {"iss": "did:example:civil", "vct": VCT, "iat": int(NOW.timestamp())}


@pytest.mark.parametrize(
    ("name", "payload", "typ", "code"),
    [
        ("wrong-typ", BASE, "example+sd-jwt", "sd_jwt_vc.typ_invalid"),
        ("legacy-typ", BASE, "vc+sd-jwt", "sd_jwt_vc.typ_invalid"),
        ("no-vct", {**BASE, "vct": None}, "dc+sd-jwt", "sd_jwt_vc.vct_missing"),
        ("vct-not-string", {**BASE, "vct": 7}, "dc+sd-jwt", "sd_jwt_vc.vct_missing"),
        (
            "no-iss",
            {k: v for k, v in BASE.items() if k != "iss"},
            "dc+sd-jwt",
            "sd_jwt_vc.iss_missing",
        ),
        ("status-not-object", {**BASE, "status": "x"}, "dc+sd-jwt", "sd_jwt_vc.status_invalid"),
        (
            "status-negative-idx",
            {**BASE, "status": {"status_list": {"idx": -1, "uri": "https://x"}}},
            "dc+sd-jwt",
            "sd_jwt_vc.status_invalid",
        ),
        (
            "status-bool-idx",
            {**BASE, "status": {"status_list": {"idx": True, "uri": "https://x"}}},
            "dc+sd-jwt",
            "sd_jwt_vc.status_invalid",
        ),
        (
            "status-no-uri",
            {**BASE, "status": {"status_list": {"idx": 1}}},
            "dc+sd-jwt",
            "sd_jwt_vc.status_invalid",
        ),
        (
            "cnf-with-digests",
            {**BASE, "cnf": {"_sd": ["abc"]}},
            "dc+sd-jwt",
            "sd_jwt_vc.claim_not_disclosable",
        ),
    ],
)
def test_vc_rules(name: str, payload: dict[str, Any], typ: str, code: str) -> None:
    clean = {k: v for k, v in payload.items() if v is not None}
    token = _raw_vc(clean, typ=typ)
    assert _code(lambda: verify_sd_jwt_vc(token, issuer_key=ISSUER.public_key(), now=NOW)) == (
        code
    ), name


def test_legacy_typ_accepted_on_request() -> None:
    token = _raw_vc(BASE, typ="vc+sd-jwt")
    result = verify_sd_jwt_vc(
        token, issuer_key=ISSUER.public_key(), now=NOW, accept_legacy_typ=True
    )
    assert result.vct == VCT


_VALUES: dict[str, Any] = {
    **BASE,
    "exp": int(NOW.timestamp()) + 100,
    "nbf": int(NOW.timestamp()) - 100,
    "status": STATUS,
}


@pytest.mark.parametrize("name", sorted(NON_DISCLOSABLE))
def test_disclosed_registered_claim_is_refused(name: str) -> None:
    issued = issue_sd_jwt(
        {**BASE, name: _VALUES.get(name, "x")},
        issuer_key=ISSUER,
        typ="dc+sd-jwt",
        disclosable=[(name,)],
    )
    token = issued.serialize()
    assert _code(lambda: verify_sd_jwt_vc(token, issuer_key=ISSUER.public_key(), now=NOW)) == (
        "sd_jwt_vc.claim_not_disclosable"
    )


def test_disclosed_iat_is_accepted_as_the_spec_allows() -> None:
    issued = issue_sd_jwt(BASE, issuer_key=ISSUER, typ="dc+sd-jwt", disclosable=[("iat",)])
    result = verify_sd_jwt_vc(issued.serialize(), issuer_key=ISSUER.public_key(), now=NOW)
    assert result.claims["iat"] == BASE["iat"]


def test_key_binding_required_without_cnf() -> None:
    issued = _issue(holder_key=None)
    presentation = present_sd_jwt(
        issued, disclose=[], holder_key=HOLDER, aud="a", nonce="n", now=NOW
    )
    assert (
        _code(
            lambda: verify_sd_jwt_vc(
                presentation,
                issuer_key=ISSUER.public_key(),
                now=NOW,
                expected_aud="a",
                expected_nonce="n",
            )
        )
        == "sd_jwt_vc.cnf_missing"
    )


def test_expired_vc() -> None:
    issued = _issue()
    assert (
        _code(
            lambda: verify_sd_jwt_vc(
                issued, issuer_key=ISSUER.public_key(), now=NOW + timedelta(days=400)
            )
        )
        == "jwt.expired"
    )
