"""Status List Tokens in JWT form (`statuslist+jwt`) and the status of a Referenced Token.

Follows draft-ietf-oauth-status-list (editor's copy of 20 April 2026 = draft 20):
§5.1 for the token, §8.3 for the relying party's validation steps. The list
inside the token is a `did.status_list.StatusList`.

    build_status_list_token(list, key=..., uri=..., iat=...)  -> compact JWT
    verify_status_list_token(token, key=..., expected_uri=..., now=...)
        -> VerifiedStatusList                                 (§8.3 steps 3-5)
    status_of(reference, verified)          -> StatusType      (§8.3 step 6)
    check_reference(reference, verified)    -> None or raises  (§8.3 step 7)

Error codes, one per kind of failure (a verifier's "status" check reports one
of these, whichever layer failed):

- `status_list.token_invalid`: anything wrong with the token as a JWT: not a
  compact JWS, algorithm not allowed, bad signature, `typ` not
  `statuslist+jwt`, `sub` or `iat` missing, expired, issued in the future or
  older than the caller's `max_age`, a malformed `ttl`. The underlying
  `jose.*` / `jwt.*` error is chained as `__cause__` and its code is named in
  the message, so nothing is lost, while callers need to handle only one
  code for "this token cannot be trusted".
- `status_list.uri_mismatch`: the token is genuine but is the list for
  another `uri` (§8.3 step 4a).
- `status_list.malformed`: the embedded `status_list` claim is missing or
  does not decode (§4.2), including a zip bomb.
- `status.index_out_of_range`, `status.revoked`, `status.suspended`,
  `status.unknown`: the entry itself (§8.3 steps 6-7).

The signature is checked before any claim is read, and time is an argument
(`now`), never the clock.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from did.errors import (
    CredentialStatusUnknown,
    MalformedInput,
    MalformedStatusList,
    StatusListTokenInvalid,
    StatusListURIMismatch,
    VerificationFailed,
)
from did.jose import DEFAULT_ALGS, UnverifiedJWS, sign_jwt, verify_jwt
from did.keys import PrivateKey, PublicKey
from did.status_list import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    StatusList,
    StatusReference,
    StatusType,
    check_status,
    check_uri,
)
from did.validity import DEFAULT_SKEW, check_time_claims, numeric_date

__all__ = [
    "STATUS_LIST_JWT_TYP",
    "VerifiedStatusList",
    "build_status_list_token",
    "check_reference",
    "status_of",
    "verify_status_list_token",
]

# §5.1: "typ: REQUIRED. The JWT type MUST be statuslist+jwt."
STATUS_LIST_JWT_TYP: Final = "statuslist+jwt"


@dataclass(frozen=True, slots=True)
class VerifiedStatusList:
    """A Status List taken from a token whose signature and claims were checked.

    Only `verify_status_list_token` builds one. `uri` is the token's `sub`.
    """

    uri: str
    status_list: StatusList
    iat: float
    exp: float | None
    ttl: float | None  # seconds a consumer may cache the token (§5.1, §13.7)
    iss: str | None

    def cache_expires_at(self, fetched_at: datetime) -> datetime | None:
        """When a copy fetched at `fetched_at` should be fetched again (§8.3 step 4d).

        The earlier of `fetched_at + ttl` and `exp`; None when the token has
        neither. Reasonable bounds on both (§11.5) are the caller's policy.
        """
        if fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be a timezone-aware datetime")
        moments = []
        if self.ttl is not None:
            moments.append(fetched_at + timedelta(seconds=self.ttl))
        if self.exp is not None:
            moments.append(datetime.fromtimestamp(self.exp, tz=fetched_at.tzinfo))
        return min(moments) if moments else None


def build_status_list_token(
    status_list: StatusList,
    *,
    key: PrivateKey,
    uri: str,
    iat: int,
    exp: int | None = None,
    ttl: int | None = None,
    kid: str | None = None,
    iss: str | None = None,
    alg: str | None = None,
) -> str:
    """Sign `status_list` as a `statuslist+jwt` for the list at `uri` (§5.1).

    `uri` becomes `sub`, the value Referenced Tokens carry as
    `status.status_list.uri`. `exp` and `ttl` are RECOMMENDED by §5.1; `ttl`
    must be a positive number of seconds. Arguments that would produce a
    token a conforming verifier rejects raise `ValueError`.
    """
    check_uri(uri, what="the status list URI")
    for name, value in (("iat", iat), ("exp", exp), ("ttl", ttl)):
        if value is not None and (type(value) is not int or value < 0):
            raise ValueError(f"{name} must be a non-negative int")
    if ttl is not None and ttl <= 0:
        raise ValueError("ttl must be positive")  # §5.1: "MUST be a positive number"
    if exp is not None and exp <= iat:
        raise ValueError("exp must be after iat")
    claims: dict[str, Any] = {"sub": uri, "iat": iat}
    if exp is not None:
        claims["exp"] = exp
    if ttl is not None:
        claims["ttl"] = ttl
    if iss is not None:
        claims["iss"] = iss
    claims["status_list"] = status_list.encode()
    return sign_jwt(claims, key, typ=STATUS_LIST_JWT_TYP, kid=kid, alg=alg)


def _invalid(exc: MalformedInput | VerificationFailed) -> StatusListTokenInvalid:
    # The cause's code is ours, not input, so it may be named in the message.
    return StatusListTokenInvalid(f"the status list token is not valid ({exc.code})")


def verify_status_list_token(
    token: str | UnverifiedJWS,
    *,
    key: PublicKey,
    expected_uri: str,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    max_age: timedelta | None = None,
    algs: Collection[str] = DEFAULT_ALGS,
    max_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> VerifiedStatusList:
    """Verify a `statuslist+jwt` fetched from `expected_uri` and return its list.

    `expected_uri` is the `uri` of the Referenced Token's reference. `max_age`
    is the relying party's freshness policy on `iat` (§8.3 step 4b); `max_bytes`
    caps decompression (see `did.status_list`). Steps, in order:

    1. signature with `key`, `alg` in `algs`, `typ` (§5.1 rule 2, §8.3 step 3a);
    2. `sub` present and equal to `expected_uri` (§5.1, §8.3 step 4a);
    3. `iat` present, `exp` not passed, `nbf` reached (§8.3 steps 3b, 4b, 4c);
    4. `ttl`, if present, a positive number (§5.1);
    5. `status_list` decoded (§4.2, §8.3 step 5).
    """
    try:
        claims = verify_jwt(token, key, typ=STATUS_LIST_JWT_TYP, algs=algs)
    except (MalformedInput, VerificationFailed) as exc:
        raise _invalid(exc) from exc

    sub = claims.get("sub")
    if not isinstance(sub, str):
        raise StatusListTokenInvalid("the status list token has no 'sub' string")
    if sub != expected_uri:
        raise StatusListURIMismatch("the status list token is for a different URI")

    try:
        check_time_claims(claims, now=now, skew=skew, require_iat=True, max_iat_age=max_age)
        iat = numeric_date(claims, "iat")
        exp = numeric_date(claims, "exp")
    except (MalformedInput, VerificationFailed) as exc:
        raise _invalid(exc) from exc
    assert iat is not None  # require_iat

    ttl = claims.get("ttl")
    if ttl is not None and (
        isinstance(ttl, bool)
        or not isinstance(ttl, int | float)
        or not math.isfinite(ttl)
        or ttl <= 0
    ):
        raise StatusListTokenInvalid("the status list token's 'ttl' is not a positive number")
    iss = claims.get("iss")
    if iss is not None and not isinstance(iss, str):
        raise StatusListTokenInvalid("the status list token's 'iss' is not a string")

    status_list = StatusList.decode(_required_list(claims), max_bytes=max_bytes)
    return VerifiedStatusList(sub, status_list, iat, exp, ttl, iss)


def _required_list(claims: Mapping[str, Any]) -> object:
    if "status_list" not in claims:
        raise MalformedStatusList("the status list token has no 'status_list' claim")
    return claims["status_list"]


def status_of(reference: StatusReference, verified: VerifiedStatusList) -> StatusType:
    """The status of the entry `reference` points at (§8.3 step 6).

    Refuses a list for another URI (`status_list.uri_mismatch`), an index past
    the list (`status.index_out_of_range`) and a value that is not a registered
    Status Type (`status.unknown`: govid assigns no application-specific
    values, so no statement can be made).
    """
    if reference.uri != verified.uri:
        raise StatusListURIMismatch("the status list is not the one the token refers to")
    value = verified.status_list.get(reference.idx)
    try:
        return StatusType(value)
    except ValueError as exc:
        raise CredentialStatusUnknown(
            "the status list holds a status value govid does not know"
        ) from exc


def check_reference(reference: StatusReference, verified: VerifiedStatusList) -> None:
    """Return None if the referenced entry is VALID; raise its `status.*` error otherwise."""
    check_status(status_of(reference, verified))
