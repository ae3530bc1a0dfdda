"""OpenID for Verifiable Presentations 1.0: request objects and `direct_post` responses.

- The request object (§5, RFC 9101) is a JWT with header `typ:
  oauth-authz-req+jwt`, signed by a key of the verifier's own `did:govid`;
  its `client_id` uses the `decentralized_identifier:` prefix (§5.9.3), so a
  wallet resolves the DID, checks the `kid`, and can look up the verifier's
  `verifier` accreditation on the ledger.
- `response_mode=direct_post` (§8.2): the wallet POSTs `vp_token` and
  `state` to `response_uri`.
- `vp_token` (§8.1) with DCQL: a JSON object whose keys are Credential Query
  ids and whose values are non-empty arrays of presentations.
- Key Binding (Appendix B.3.5): the KB-JWT's `aud` is the Client Identifier
  and its `nonce` the request's `nonce`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from did.jose import sign_jwt
from did.keys import PrivateKey
from openid4vc.dcql import DCQLQuery, check_credential_sets
from openid4vc.errors import ClaimsNotSatisfied
from openid4vc.issuance import SD_JWT_VC_FORMAT
from openid4vc.presentation import (
    AUTHORIZATION_REQUEST_SCHEMES,
    CLIENT_ID_PREFIX,
    REQUEST_OBJECT_TYP,
    RESPONSE_MODE,
    RESPONSE_TYPE,
    SELF_ISSUED_AUD,
)
from verifier.engine import verify_presentation
from verifier.errors import VPTokenMalformed
from verifier.lookups import LedgerLookups
from verifier.policy import TrustPolicy
from verifier.report import VerificationReport

__all__ = [
    "PresentationOutcome",
    "authorization_request_uri",
    "build_request_object",
    "client_id_for",
    "parse_vp_token",
    "verify_vp_token",
]

MAX_PRESENTATIONS: Final = 16
ALGS: Final = ["EdDSA", "ES256"]


def client_id_for(did: str) -> str:
    return CLIENT_ID_PREFIX + did


def build_request_object(
    *,
    client_id: str,
    response_uri: str,
    nonce: str,
    state: str,
    dcql_query: DCQLQuery,
    key: PrivateKey,
    kid: str,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """The signed request object (§5.1, §8.2) for one presentation session.

    No `iss`: RFC 9101 §4 makes it optional and OpenID4VP identifies the
    Verifier by `client_id`. Wallet libraries disagree on what `iss` must be
    when `kid` is a DID URL (the prefixed client id, or the bare DID that the
    `kid` names), and refuse the other form; leaving it out satisfies both.
    `kid` is the absolute DID URL of a key in the Verifier's own DID document
    (§5.9.3), so a wallet resolves the DID and finds the key by that URL.
    """
    claims: dict[str, Any] = {
        "aud": SELF_ISSUED_AUD,
        "client_id": client_id,
        "response_type": RESPONSE_TYPE,
        "response_mode": RESPONSE_MODE,
        "response_uri": response_uri,
        "nonce": nonce,
        "state": state,
        "dcql_query": dcql_query.to_json(),
        "client_metadata": {
            "vp_formats_supported": {
                SD_JWT_VC_FORMAT: {"sd-jwt_alg_values": ALGS, "kb-jwt_alg_values": ALGS}
            }
        },
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return sign_jwt(claims, key, typ=REQUEST_OBJECT_TYP, kid=kid)


def authorization_request_uri(*, client_id: str, request_uri: str) -> str:
    """What the QR shows: `openid4vp://?client_id=...&request_uri=...` (§5.10)."""
    scheme = AUTHORIZATION_REQUEST_SCHEMES[0]
    return f"{scheme}://?" + urlencode({"client_id": client_id, "request_uri": request_uri})


def parse_vp_token(raw: object, *, query: DCQLQuery) -> dict[str, list[str]]:
    """Parse a `vp_token` form value (§8.1); raise `vp_token.malformed`.

    Every key must name a Credential Query of `query`; `multiple: false`
    queries take exactly one presentation.
    """
    if not isinstance(raw, str) or not raw:
        raise VPTokenMalformed("the response carries no vp_token")
    try:
        token = json.loads(raw)
    except ValueError as exc:
        raise VPTokenMalformed("the vp_token is not a JSON object") from exc
    if not isinstance(token, dict) or not token:
        raise VPTokenMalformed("the vp_token is not a non-empty JSON object")
    out: dict[str, list[str]] = {}
    for query_id, presentations in token.items():
        credential = query.credential(query_id)
        if credential is None:
            raise VPTokenMalformed("the vp_token answers a credential that was not requested")
        if (
            not isinstance(presentations, list)
            or not 1 <= len(presentations) <= MAX_PRESENTATIONS
            or not all(isinstance(p, str) and p for p in presentations)
        ):
            raise VPTokenMalformed("each vp_token value is a non-empty array of strings")
        if not credential.multiple and len(presentations) != 1:
            raise VPTokenMalformed("a credential that allows one presentation got several")
        out[query_id] = presentations
    return out


@dataclass(frozen=True, slots=True)
class PresentationOutcome:
    """The reports of every presentation in one response, and the overall answer."""

    reports: Mapping[str, tuple[VerificationReport, ...]]
    sets_error: tuple[str, str] | None = None  # (code, message) when credential_sets fail
    disclosed: Mapping[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return (
            bool(self.reports)
            and self.sets_error is None
            and all(r.accepted for rs in self.reports.values() for r in rs)
        )

    def to_json(self) -> dict[str, Any]:
        """The stored report: no personal data (disclosed claims are kept apart)."""
        failed = next(
            (
                (qid, r.failed)
                for qid, rs in self.reports.items()
                for r in rs
                if r.failed is not None
            ),
            None,
        )
        credentials = {
            qid: [{k: v for k, v in r.to_json().items() if k != "disclosed"} for r in rs]
            for qid, rs in self.reports.items()
        }
        error = None
        failed_check = None
        message = None
        if failed is not None:
            failed_check, error, message = failed[1].name, failed[1].code, failed[1].message
        elif self.sets_error is not None:
            failed_check, (error, message) = "requested_claims", self.sets_error
        return {
            "accepted": self.accepted,
            "failed_check": failed_check,
            "error": error,
            "error_description": message,
            "credentials": credentials,
        }


def verify_vp_token(
    vp_token: Mapping[str, list[str]],
    *,
    query: DCQLQuery,
    client_id: str,
    nonce: str,
    policy: TrustPolicy,
    lookups: LedgerLookups,
    now: datetime,
) -> PresentationOutcome:
    """Verify every presentation of a parsed `vp_token` against its Credential Query.

    A presentation that does not even parse raises `MalformedInput` (the
    response is malformed); every other failure is in the reports.
    """
    reports: dict[str, tuple[VerificationReport, ...]] = {}
    disclosed: dict[str, list[Mapping[str, Any]]] = {}
    for query_id, presentations in vp_token.items():
        credential = query.credential(query_id)
        assert credential is not None  # parse_vp_token checked
        done = tuple(
            verify_presentation(
                p,
                expected_aud=client_id,
                expected_nonce=nonce,
                query=credential,
                policy=policy,
                lookups=lookups,
                now=now,
            )
            for p in presentations
        )
        reports[query_id] = done
        disclosed[query_id] = [dict(r.disclosed) for r in done if r.disclosed is not None]
    present = {qid for qid, rs in reports.items() if rs and all(r.accepted for r in rs)}
    sets_error = None
    try:
        check_credential_sets(query, present)
    except ClaimsNotSatisfied as exc:
        sets_error = (exc.code, exc.message)
    return PresentationOutcome(reports, sets_error, disclosed)
