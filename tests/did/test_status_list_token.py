"""Status List Tokens (`statuslist+jwt`, §5.1) and the status check of §8.3.

The §8.2 token vector is verified with the example issuer key and a pinned
`now`; tokens with one thing wrong are signed with the same key, so each test
shows which check catches what, by error code.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from did.encoding import b64url_decode, b64url_encode
from did.errors import GovidError
from did.jose import parse_unverified_jws, sign_jwt
from did.keys import PrivateKey, PublicKey, generate_private_key, private_key_from_jwk
from did.status_list import StatusList, StatusReference, StatusType
from did.status_list_token import (
    STATUS_LIST_JWT_TYP,
    VerifiedStatusList,
    build_status_list_token,
    check_reference,
    status_of,
    verify_status_list_token,
)

DIR = "token-status-list"
URI = "https://example.com/statuslists/1"
IAT = 1686920170  # the vector's iat
EXP = 2291720170  # the vector's exp
NOW = datetime.fromtimestamp(IAT + 3600, tz=UTC)
SECTION_4_1_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]

Vector = Callable[[str], Any]
VectorText = Callable[[str], str]


def _code(action: Callable[[], object]) -> str:
    with pytest.raises(GovidError) as info:
        action()
    return info.value.code


def _cause_code(action: Callable[[], object]) -> tuple[str, str | None]:
    with pytest.raises(GovidError) as info:
        action()
    cause = info.value.__cause__
    return info.value.code, cause.code if isinstance(cause, GovidError) else None


@pytest.fixture
def issuer_key(vector: Vector) -> PrivateKey:
    return private_key_from_jwk(vector(f"{DIR}/status_issuer_example_key.jwk.json"))


@pytest.fixture
def public_key(issuer_key: PrivateKey) -> PublicKey:
    return issuer_key.public_key()


@pytest.fixture
def token(vector_text: VectorText) -> str:
    return vector_text(f"{DIR}/status_list_token.jwt").strip()


def _verify(token: str, key: PublicKey, **overrides: Any) -> VerifiedStatusList:
    args: dict[str, Any] = {"key": key, "expected_uri": URI, "now": NOW} | overrides
    return verify_status_list_token(token, **args)


# --- the §8.2 vector ------------------------------------------------------------


def test_vector_token_verifies(token: str, public_key: PublicKey, vector: Vector) -> None:
    decoded = vector(f"{DIR}/status_list_token.decoded.json")
    unverified = parse_unverified_jws(token)
    assert unverified.header == decoded["header"]
    verified = _verify(token, public_key)
    payload = decoded["payload"]
    assert verified.uri == payload["sub"] == URI
    assert (verified.iat, verified.exp, verified.ttl) == (IAT, EXP, 43200)
    assert verified.iss == payload["iss"]
    assert verified.status_list == StatusList.decode(payload["status_list"])
    assert list(verified.status_list.statuses()) == SECTION_4_1_STATUSES
    # An already-parsed token is accepted too (callers peek at `kid` first).
    assert _verify(unverified.signing_input.decode() + "." + token.split(".")[2], public_key)
    assert (
        verify_status_list_token(unverified, key=public_key, expected_uri=URI, now=NOW) == verified
    )


def test_vector_statuses_through_references(token: str, public_key: PublicKey) -> None:
    verified = _verify(token, public_key)
    for idx, expected in enumerate(SECTION_4_1_STATUSES):
        assert status_of(StatusReference(idx, URI), verified) == expected
    check_reference(StatusReference(1, URI), verified)
    assert _code(lambda: check_reference(StatusReference(0, URI), verified)) == "status.revoked"


def test_sd_jwt_example_reference_against_the_token(
    token: str, public_key: PublicKey, vector: Vector
) -> None:
    # §6.2's Referenced Token points at idx 0 of .../statuslists/1, which the
    # §8.2 token marks INVALID: the whole §8.3 chain on the spec's own examples.
    payload = vector(f"{DIR}/referenced_token_sd_jwt.decoded.json")["payload"]
    reference = StatusReference.from_claims(payload)
    verified = _verify(token, public_key, expected_uri=reference.uri)
    assert status_of(reference, verified) is StatusType.INVALID
    assert _code(lambda: check_reference(reference, verified)) == "status.revoked"


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def test_vector_time_window(token: str, public_key: PublicKey) -> None:
    skew = timedelta(seconds=60)
    _verify(token, public_key, now=_at(EXP - 1), skew=skew)
    _verify(token, public_key, now=_at(EXP + 59), skew=skew)
    assert _cause_code(lambda: _verify(token, public_key, now=_at(EXP + 60), skew=skew)) == (
        "status_list.token_invalid",
        "jwt.expired",
    )
    _verify(token, public_key, now=_at(IAT - 60), skew=skew)
    assert _cause_code(lambda: _verify(token, public_key, now=_at(IAT - 61), skew=skew)) == (
        "status_list.token_invalid",
        "jwt.iat_in_future",
    )


def test_max_age_is_the_relying_partys_freshness_policy(token: str, public_key: PublicKey) -> None:
    _verify(token, public_key, max_age=timedelta(hours=2))
    assert _cause_code(lambda: _verify(token, public_key, max_age=timedelta(minutes=30))) == (
        "status_list.token_invalid",
        "jwt.expired",
    )


def test_cache_expiry(token: str, public_key: PublicKey) -> None:
    verified = _verify(token, public_key)
    fetched = datetime.fromtimestamp(IAT, tz=UTC)
    assert verified.cache_expires_at(fetched) == fetched + timedelta(seconds=43200)
    late = datetime.fromtimestamp(EXP - 10, tz=UTC)
    assert verified.cache_expires_at(late) == datetime.fromtimestamp(EXP, tz=UTC)


# --- tampering with the vector --------------------------------------------------


def test_wrong_uri(token: str, public_key: PublicKey) -> None:
    wrong = "https://example.com/statuslists/2"
    assert _code(lambda: _verify(token, public_key, expected_uri=wrong)) == (
        "status_list.uri_mismatch"
    )


def test_wrong_key(token: str) -> None:
    other = generate_private_key("ES256").public_key()
    assert _cause_code(lambda: _verify(token, other)) == (
        "status_list.token_invalid",
        "jose.signature_invalid",
    )


def test_every_signature_bit_flip_is_refused(token: str, public_key: PublicKey) -> None:
    head, payload, signature = token.split(".")
    raw = b64url_decode(signature)
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        bad = f"{head}.{payload}.{b64url_encode(bytes(flipped))}"
        assert _cause_code(partial(_verify, bad, public_key)) == (
            "status_list.token_invalid",
            "jose.signature_invalid",
        )


def test_payload_swap_is_refused(token: str, public_key: PublicKey) -> None:
    head, payload, signature = token.split(".")
    claims = b64url_decode(payload).replace(b'"bits":1', b'"bits":2')
    bad = f"{head}.{b64url_encode(claims)}.{signature}"
    assert _cause_code(lambda: _verify(bad, public_key)) == (
        "status_list.token_invalid",
        "jose.signature_invalid",
    )


@pytest.mark.parametrize("text", ["", "a.b", "a.b.c.d", "not a token", "e30.e30."])
def test_not_a_jws(text: str, public_key: PublicKey) -> None:
    assert _code(lambda: _verify(text, public_key)) == "status_list.token_invalid"


def test_alg_none_is_refused(token: str, public_key: PublicKey) -> None:
    _, payload, _ = token.split(".")
    head = b64url_encode(b'{"alg":"none","typ":"statuslist+jwt"}')
    assert _code(lambda: _verify(f"{head}.{payload}.", public_key)) == ("status_list.token_invalid")


# --- tokens signed with one thing wrong -----------------------------------------


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": URI,
        "iat": IAT,
        "exp": EXP,
        "ttl": 43200,
        "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    return claims


@pytest.mark.parametrize("typ", ["JWT", "statuslist+cwt", "dc+sd-jwt", None])
def test_wrong_typ(typ: str | None, issuer_key: PrivateKey, public_key: PublicKey) -> None:
    bad = sign_jwt(_claims(), issuer_key, typ=typ, kid="12")
    assert _cause_code(lambda: _verify(bad, public_key)) == (
        "status_list.token_invalid",
        "jose.typ_mismatch",
    )


def test_typ_with_media_type_prefix_is_accepted(
    issuer_key: PrivateKey, public_key: PublicKey
) -> None:
    # RFC 7515 §4.1.9: "application/statuslist+jwt" names the same type.
    good = sign_jwt(_claims(), issuer_key, typ="application/statuslist+jwt")
    assert _verify(good, public_key).uri == URI


@pytest.mark.parametrize(
    ("changes", "code", "cause"),
    [
        ({"sub": None}, "status_list.token_invalid", None),
        ({"sub": 1}, "status_list.token_invalid", None),
        ({"sub": "https://example.com/statuslists/10"}, "status_list.uri_mismatch", None),
        ({"iat": None}, "status_list.token_invalid", "jwt.claim_missing"),
        ({"iat": "1686920170"}, "status_list.token_invalid", "jwt.claim_malformed"),
        ({"iat": True}, "status_list.token_invalid", "jwt.claim_malformed"),
        ({"exp": IAT + 60}, "status_list.token_invalid", "jwt.expired"),
        ({"exp": "never"}, "status_list.token_invalid", "jwt.claim_malformed"),
        ({"nbf": EXP - 1}, "status_list.token_invalid", "jwt.not_yet_valid"),
        ({"ttl": 0}, "status_list.token_invalid", None),
        ({"ttl": -1}, "status_list.token_invalid", None),
        ({"ttl": True}, "status_list.token_invalid", None),
        ({"ttl": "43200"}, "status_list.token_invalid", None),
        ({"iss": 5}, "status_list.token_invalid", None),
        ({"status_list": None}, "status_list.malformed", None),
        ({"status_list": "eNrbuRgAAhcBXQ"}, "status_list.malformed", None),
        ({"status_list": {"bits": 3, "lst": "eNrbuRgAAhcBXQ"}}, "status_list.malformed", None),
        ({"status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}}, "status_list.malformed", None),
    ],
)
def test_bad_claims(
    changes: dict[str, Any],
    code: str,
    cause: str | None,
    issuer_key: PrivateKey,
    public_key: PublicKey,
) -> None:
    bad = sign_jwt(_claims(**changes), issuer_key, typ=STATUS_LIST_JWT_TYP)
    got_code, got_cause = _cause_code(lambda: _verify(bad, public_key))
    assert got_code == code
    if cause is not None:
        assert got_cause == cause


def test_ttl_and_exp_are_optional(issuer_key: PrivateKey, public_key: PublicKey) -> None:
    good = sign_jwt(_claims(exp=None, ttl=None), issuer_key, typ=STATUS_LIST_JWT_TYP)
    verified = _verify(good, public_key, now=datetime.fromtimestamp(EXP + 10**6, tz=UTC))
    assert (verified.exp, verified.ttl) == (None, None)
    assert verified.cache_expires_at(NOW) is None


def test_zip_bomb_inside_a_signed_token(issuer_key: PrivateKey, public_key: PublicKey) -> None:
    compressor = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(100)) + compressor.flush()
    claims = _claims(status_list={"bits": 1, "lst": b64url_encode(bomb)})
    bad = sign_jwt(claims, issuer_key, typ=STATUS_LIST_JWT_TYP)
    assert _code(lambda: _verify(bad, public_key)) == "status_list.malformed"


# --- building -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_build_and_verify_round_trip(alg: str) -> None:
    key = generate_private_key(alg)
    status_list = StatusList.new(2**20, 2).with_changes({0: 1, 1993: 2, 1000345: 3})
    token = build_status_list_token(
        status_list, key=key, uri=URI, iat=IAT, exp=IAT + 86400, ttl=3600, kid="k1"
    )
    unverified = parse_unverified_jws(token)
    assert unverified.header == {"alg": alg, "typ": "statuslist+jwt", "kid": "k1"}
    verified = _verify(token, key.public_key())
    assert verified.status_list == status_list
    assert (verified.iat, verified.exp, verified.ttl, verified.iss) == (
        IAT,
        IAT + 86400,
        3600,
        None,
    )
    assert status_of(StatusReference(1993, URI), verified) is StatusType.SUSPENDED
    assert _code(lambda: check_reference(StatusReference(1993, URI), verified)) == (
        "status.suspended"
    )
    assert _code(lambda: status_of(StatusReference(1000345, URI), verified)) == "status.unknown"
    check_reference(StatusReference(5, URI), verified)


def test_build_matches_the_vector_claims(
    issuer_key: PrivateKey, public_key: PublicKey, vector: Vector
) -> None:
    payload = vector(f"{DIR}/status_list_token.decoded.json")["payload"]
    status_list = StatusList.decode(payload["status_list"])
    token = build_status_list_token(
        status_list,
        key=issuer_key,
        uri=payload["sub"],
        iat=payload["iat"],
        exp=payload["exp"],
        ttl=payload["ttl"],
        iss=payload["iss"],
        kid="12",
    )
    unverified = parse_unverified_jws(token)
    assert unverified.header == {"alg": "ES256", "kid": "12", "typ": "statuslist+jwt"}
    assert json.loads(unverified.payload) == payload
    assert _verify(token, public_key).status_list == status_list


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl": 0},
        {"ttl": -5},
        {"exp": IAT},
        {"exp": IAT - 1},
        {"iat": True},
        {"iat": 1.5},
        {"uri": "not a uri"},
    ],
)
def test_build_refuses_what_a_verifier_would_reject(
    kwargs: dict[str, Any], issuer_key: PrivateKey
) -> None:
    args: dict[str, Any] = {"key": issuer_key, "uri": URI, "iat": IAT} | kwargs
    with pytest.raises(ValueError):
        build_status_list_token(StatusList.new(8, 1), **args)


# --- status_of ------------------------------------------------------------------


def test_status_of_bounds_and_uri(token: str, public_key: PublicKey) -> None:
    verified = _verify(token, public_key)
    assert _code(lambda: status_of(StatusReference(16, URI), verified)) == (
        "status.index_out_of_range"
    )
    assert _code(lambda: status_of(StatusReference(10**9, URI), verified)) == (
        "status.index_out_of_range"
    )
    other = StatusReference(0, "https://example.com/statuslists/2")
    assert _code(lambda: status_of(other, verified)) == "status_list.uri_mismatch"
