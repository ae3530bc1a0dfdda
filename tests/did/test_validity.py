"""did.validity: exp / nbf / iat against an injected `now` (RFC 7519 §4.1.4-4.1.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did.errors import GovidError
from did.validity import DEFAULT_SKEW, check_time_claims, numeric_date_in_window

T0 = 1_700_000_000
NOW = datetime.fromtimestamp(T0, UTC)


def _code(claims: dict[str, object], **kwargs: object) -> str | None:
    try:
        check_time_claims(claims, now=NOW, **kwargs)  # type: ignore[arg-type]
    except GovidError as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({}, None),
        ({"exp": T0 + 1}, None),
        ({"exp": T0 - 59}, None),  # inside the 60 s skew
        ({"exp": T0 - 60}, "jwt.expired"),
        ({"exp": T0 - 3600}, "jwt.expired"),
        ({"nbf": T0 + 60}, None),
        ({"nbf": T0 + 61}, "jwt.not_yet_valid"),
        ({"iat": T0 + 60}, None),
        ({"iat": T0 + 61}, "jwt.iat_in_future"),
        ({"exp": T0 + 0.5, "nbf": T0 - 0.5, "iat": T0}, None),
        ({"exp": True}, "jwt.claim_malformed"),
        ({"nbf": "1700000000"}, "jwt.claim_malformed"),
        ({"iat": None}, "jwt.claim_malformed"),
        ({"exp": float("nan")}, "jwt.claim_malformed"),
        ({"exp": [T0]}, "jwt.claim_malformed"),
    ],
)
def test_time_claims(claims: dict[str, object], code: str | None) -> None:
    assert _code(claims) == code


def test_require_iat() -> None:
    assert _code({}, require_iat=True) == "jwt.claim_missing"
    assert _code({"iat": T0}, require_iat=True) is None


def test_max_iat_age() -> None:
    age = timedelta(minutes=5)
    assert _code({"iat": T0 - 300 - 60}, max_iat_age=age) is None
    assert _code({"iat": T0 - 300 - 61}, max_iat_age=age) == "jwt.expired"


def test_zero_skew() -> None:
    assert _code({"exp": T0}, skew=timedelta(0)) == "jwt.expired"
    assert _code({"exp": T0 + 1}, skew=timedelta(0)) is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        check_time_claims({}, now=datetime(2024, 1, 1))


@given(exp=st.integers(T0 - 10_000, T0 + 10_000), skew=st.integers(0, 600))
def test_expiry_matches_definition(exp: int, skew: int) -> None:
    code = _code({"exp": exp}, skew=timedelta(seconds=skew))
    assert (code == "jwt.expired") == (T0 >= exp + skew)
    assert code in (None, "jwt.expired")


def test_default_skew() -> None:
    assert timedelta(seconds=60) == DEFAULT_SKEW


# --- key windows in log milliseconds against `iat` in seconds (issue 13 item 16) -------


@pytest.mark.parametrize(
    ("iat", "start_ms", "end_ms", "inside"),
    [
        (T0, T0 * 1000 + 400, None, True),  # key created at .400, token signed later that second
        (T0, T0 * 1000 + 999, None, True),
        (T0 - 1, T0 * 1000, None, False),  # the second before the key existed
        (T0, T0 * 1000, T0 * 1000 + 1, True),
        (T0, T0 * 1000 - 1000, T0 * 1000, False),  # the key was gone when the second began
        (T0 + 0.5, T0 * 1000 + 400, None, True),  # a fractional iat is an instant
        (T0 + 0.3, T0 * 1000 + 400, None, False),
        (T0 + 0.5, T0 * 1000, T0 * 1000 + 500, False),
    ],
)
def test_numeric_date_in_a_millisecond_window(
    iat: float, start_ms: int, end_ms: int | None, inside: bool
) -> None:
    assert numeric_date_in_window(iat, start_ms=start_ms, end_ms=end_ms) is inside


@given(st.integers(0, 2**40), st.integers(0, 10**6), st.integers(1, 10**6))
def test_a_whole_second_is_inside_iff_it_overlaps_the_window(
    second: int, start_offset: int, length: int
) -> None:
    start_ms = second * 1000 - 500_000 + start_offset
    end_ms = start_ms + length
    overlaps = start_ms < (second + 1) * 1000 and second * 1000 < end_ms
    assert numeric_date_in_window(second, start_ms=start_ms, end_ms=end_ms) is overlaps
