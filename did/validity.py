"""JWT time claims (RFC 7519 §4.1.4-4.1.6) checked against a `now` the caller passes in.

`did/` never reads the clock: the verifier decides which clock to trust and
tests pin it. A small skew absorbs clock drift between issuer, holder and
verifier in both directions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from did.errors import (
    ClaimMissing,
    IssuedInFuture,
    MalformedClaim,
    TokenExpired,
    TokenNotYetValid,
)

__all__ = ["DEFAULT_SKEW", "check_time_claims", "numeric_date", "numeric_date_in_window"]

DEFAULT_SKEW: Final = timedelta(seconds=60)


def numeric_date(claims: Mapping[str, object], name: str) -> float | None:
    """The NumericDate claim `name` (RFC 7519 §2), None when absent.

    Raises `MalformedClaim` for anything that is not a finite JSON number; a
    JSON `true` is a bool in Python, and bool is an int, so it is ruled out
    explicitly.
    """
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedClaim(f"claim {name!r} must be a NumericDate")
    return float(value)


def check_time_claims(
    claims: Mapping[str, object],
    *,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    require_iat: bool = False,
    max_iat_age: timedelta | None = None,
) -> None:
    """Raise unless `now` lies inside the token's validity window.

    - `exp` (§4.1.4): `now` must be before `exp` + skew, else `jwt.expired`;
    - `nbf` (§4.1.5): `now` must not be before `nbf` - skew, else `jwt.not_yet_valid`;
    - `iat` (§4.1.6): must not be after `now` + skew (`jwt.iat_in_future`); when
      `require_iat`, absence is `jwt.claim_missing`; when `max_iat_age` is given,
      an `iat` older than that (plus skew) is `jwt.expired`.

    Claims present with a non-NumericDate value raise `jwt.claim_malformed`.
    `now` must be timezone-aware (a naive datetime would be read as local time).
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    moment = now.timestamp()
    leeway = skew.total_seconds()
    exp = numeric_date(claims, "exp")
    nbf = numeric_date(claims, "nbf")
    iat = numeric_date(claims, "iat")
    if exp is not None and moment >= exp + leeway:
        raise TokenExpired("the token has expired")
    if nbf is not None and moment < nbf - leeway:
        raise TokenNotYetValid("the token is not valid yet")
    if iat is None:
        if require_iat:
            raise ClaimMissing("the token has no 'iat' claim")
        return
    if iat > moment + leeway:
        raise IssuedInFuture("the token claims to be issued in the future")
    if max_iat_age is not None and moment - iat > max_iat_age.total_seconds() + leeway:
        raise TokenExpired("the token was issued too long ago")


def numeric_date_in_window(value: float, *, start_ms: int, end_ms: int | None) -> bool:
    """Whether the NumericDate `value` (seconds) falls in the window [start_ms, end_ms).

    The ledger keeps key windows in milliseconds of log time; tokens carry
    `iat` in seconds, and issuers write whole seconds (RFC 7519 §2 NumericDate,
    floored). A whole second `S` stands for the instants [S, S+1): it is inside
    the window when that second overlaps it. So a key created at S.400 is valid
    for a token signed at S.700 with `iat` S, which `S*1000 >= start_ms` would
    refuse. A fractional `value` is an instant and is compared as one.
    """
    at = value * 1000
    last = at + 999 if float(value).is_integer() else at
    return start_ms <= last and (end_ms is None or at < end_ms)
