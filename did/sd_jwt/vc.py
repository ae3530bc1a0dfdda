"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc, editor's copy of 2026-08-21) over RFC 9901.

Rules added to a plain SD-JWT:
- §2.2.1: the issuer JWS has `typ: dc+sd-jwt` (`sd_jwt_vc.typ_invalid`). Draft
  18 allowed `vc+sd-jwt` during a transition; the editor's copy removed that
  note, so the legacy value is accepted only when the caller opts in.
- §2.2.2.1: `vct` is a required string (`sd_jwt_vc.vct_missing`).
- §2.2.2.3: `iss`, `nbf`, `exp`, `cnf`, `vct`, `vct#integrity`, `aka_vcts` and
  `status`, with all their sub-claims, are never selectively disclosable
  (`sd_jwt_vc.claim_not_disclosable`). The spec allows `iat` to be; govid's
  issuers never make it so (ARCHITECTURE "Credentials"), but govid verifiers
  accept credentials from issuers that did.
- `iss` is required by govid (it names the issuer DID that keys are resolved
  from; `sd_jwt_vc.iss_missing`), `cnf.jwk` whenever Key Binding is required
  (§2.4; `sd_jwt_vc.cnf_missing`), and a `status` claim must have the Token
  Status List shape `{"status_list": {"idx": int >= 0, "uri": str}}` when it
  uses that mechanism (`sd_jwt_vc.status_invalid`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from did.errors import (
    ClaimNotDisclosable,
    IssuerMissing,
    StatusClaimInvalid,
    VCTMissing,
    VCTypeInvalid,
)
from did.jose import DEFAULT_ALGS, normalise_typ
from did.keys import PrivateKey, PublicKey
from did.sd_jwt.disclosures import ClaimPath, random_salt
from did.sd_jwt.issuance import IssuedSDJWT, SDPadding, issue_sd_jwt, normalise_paths
from did.sd_jwt.key_binding import DEFAULT_KB_MAX_AGE
from did.sd_jwt.serialization import UnverifiedSDJWT
from did.sd_jwt.verification import IssuerKey, VerifiedSDJWT, verify_sd_jwt
from did.validity import DEFAULT_SKEW

__all__ = [
    "GOVID_NON_DISCLOSABLE",
    "LEGACY_VC_TYP",
    "NON_DISCLOSABLE",
    "VC_TYP",
    "VerifiedSDJWTVC",
    "issue_sd_jwt_vc",
    "verify_sd_jwt_vc",
]

VC_TYP: Final = "dc+sd-jwt"
LEGACY_VC_TYP: Final = "vc+sd-jwt"

# §2.2.2.3: "MUST NOT be included in Disclosures", sub-claims included.
NON_DISCLOSABLE: Final = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"}
)
# govid's issuance policy adds `iat` (ARCHITECTURE.md, "Credentials").
GOVID_NON_DISCLOSABLE: Final = NON_DISCLOSABLE | {"iat"}


@dataclass(frozen=True, slots=True)
class VerifiedSDJWTVC:
    """A verified SD-JWT VC: its type, issuer, optional status reference, and the SD-JWT."""

    vct: str
    iss: str
    status: dict[str, Any] | None
    sd_jwt: VerifiedSDJWT

    @property
    def claims(self) -> dict[str, Any]:
        return self.sd_jwt.claims


def issue_sd_jwt_vc(
    claims: Mapping[str, Any],
    *,
    issuer_key: PrivateKey,
    iss: str,
    vct: str,
    iat: datetime,
    disclosable: Collection[Sequence[str | int]] = (),
    exp: datetime | None = None,
    nbf: datetime | None = None,
    holder_key: PublicKey | None = None,
    status: Mapping[str, Any] | None = None,
    kid: str | None = None,
    alg: str | None = None,
    decoys: int = 0,
    salt: Callable[[], str] = random_salt,
    decoy_rng: random.Random | None = None,
    sd_padding: SDPadding | None = None,
) -> IssuedSDJWT:
    """Issue an SD-JWT VC: `typ: dc+sd-jwt` and the registered claims in plaintext.

    `claims` holds the subject's claims only; the registered ones come from the
    arguments and may not also appear in `claims` (ValueError). A path in
    `disclosable` under a registered claim or `iat` is `sd_jwt_vc.claim_not_disclosable`.
    """
    for path in normalise_paths(disclosable):
        if path[0] in GOVID_NON_DISCLOSABLE:
            raise ClaimNotDisclosable("a registered claim cannot be selectively disclosable")
    registered: dict[str, Any] = {"iss": iss, "vct": vct, "iat": int(iat.timestamp())}
    if exp is not None:
        registered["exp"] = int(exp.timestamp())
    if nbf is not None:
        registered["nbf"] = int(nbf.timestamp())
    if status is not None:
        registered["status"] = dict(status)
        _check_status(registered)
    if GOVID_NON_DISCLOSABLE & claims.keys():
        raise ValueError("registered claims are set through their own arguments")
    return issue_sd_jwt(
        {**registered, **claims},
        issuer_key=issuer_key,
        typ=VC_TYP,
        disclosable=disclosable,
        holder_key=holder_key,
        kid=kid,
        alg=alg,
        decoys=decoys,
        salt=salt,
        decoy_rng=decoy_rng,
        sd_padding=sd_padding,
    )


def _check_status(claims: Mapping[str, Any]) -> None:
    if "status" not in claims:
        return
    status = claims["status"]
    if not isinstance(status, dict):
        raise StatusClaimInvalid("the 'status' claim is not an object")
    if "status_list" not in status:
        return  # another status mechanism; policy above this layer decides
    ref = status["status_list"]
    # Token Status List §6.1: idx (non-negative integer) and uri (string).
    idx = ref.get("idx") if isinstance(ref, dict) else None
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise StatusClaimInvalid("'status.status_list.idx' is not a non-negative integer")
    if not isinstance(ref.get("uri"), str):
        raise StatusClaimInvalid("'status.status_list.uri' is not a string")


def _contains_digests(node: Any) -> bool:
    if isinstance(node, dict):
        return "_sd" in node or "..." in node or any(_contains_digests(v) for v in node.values())
    if isinstance(node, list):
        return any(_contains_digests(v) for v in node)
    return False


def _check_not_disclosed(verified: VerifiedSDJWT, non_disclosable: Collection[str]) -> None:
    for entry in verified.disclosed:
        head: ClaimPath = entry.path[:1]
        if head and head[0] in non_disclosable:
            raise ClaimNotDisclosable("a registered claim was selectively disclosed")
    # A digest inside a registered claim hides a sub-claim even when it is not presented.
    for name in non_disclosable:
        if _contains_digests(verified.payload.get(name)):
            raise ClaimNotDisclosable("a registered claim holds selectively disclosable parts")


def verify_sd_jwt_vc(
    presentation: str | UnverifiedSDJWT,
    *,
    issuer_key: IssuerKey,
    now: datetime,
    expected_aud: str | None = None,
    expected_nonce: str | None = None,
    accept_legacy_typ: bool = False,
    non_disclosable: Collection[str] = NON_DISCLOSABLE,
    skew: timedelta = DEFAULT_SKEW,
    kb_max_age: timedelta = DEFAULT_KB_MAX_AGE,
    algs: Collection[str] = DEFAULT_ALGS,
) -> VerifiedSDJWTVC:
    """Verify an SD-JWT VC presentation (§2.4): `verify_sd_jwt`, then the VC rules.

    Key Binding is required iff `expected_aud` and `expected_nonce` are given;
    then `cnf.jwk` must be present (`sd_jwt_vc.cnf_missing`).
    """
    unverified = (
        presentation
        if isinstance(presentation, UnverifiedSDJWT)
        else UnverifiedSDJWT.parse(presentation)
    )
    verified = verify_sd_jwt(
        unverified,
        issuer_key=issuer_key,
        typ=None,  # checked below with the SD-JWT VC error code
        now=now,
        expected_aud=expected_aud,
        expected_nonce=expected_nonce,
        skew=skew,
        kb_max_age=kb_max_age,
        algs=algs,
    )
    typ = verified.header.get("typ")
    allowed = {VC_TYP, LEGACY_VC_TYP} if accept_legacy_typ else {VC_TYP}
    if not isinstance(typ, str) or normalise_typ(typ) not in allowed:  # §2.2.1
        raise VCTypeInvalid("the credential's 'typ' is not dc+sd-jwt")
    _check_not_disclosed(verified, non_disclosable)  # §2.2.2.3
    claims = verified.claims
    vct, iss = claims.get("vct"), claims.get("iss")
    if not isinstance(vct, str) or not vct:  # §2.2.2.1
        raise VCTMissing("the credential has no 'vct' string")
    if not isinstance(iss, str) or not iss:
        raise IssuerMissing("the credential has no 'iss' string")
    _check_status(claims)
    status = claims.get("status")
    return VerifiedSDJWTVC(vct, iss, status if isinstance(status, dict) else None, verified)
