"""OAuth client credentials written once: the hash, the parser, the error codes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from did.errors import GovidError
from service import oauth
from service.oauth import (
    ClientCredentials,
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    UnauthorizedClient,
    UnsupportedGrantType,
    authenticate_client,
    basic_authorization,
    bearer_token,
    hash_client_secret,
    needs_rehash,
    oauth_error_response,
    parse_client_credentials,
    verify_client_secret,
)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- the hash ---------------------------------------------------------------------------


def test_a_hash_verifies_its_secret_only() -> None:
    stored = hash_client_secret("s3cret")
    assert stored.startswith("scrypt$ln=14,r=8,p=1$")
    assert verify_client_secret("s3cret", stored)
    assert not verify_client_secret("s3cret!", stored)
    assert not verify_client_secret("", stored)
    assert hash_client_secret("s3cret") != stored  # a fresh salt each time
    assert not needs_rehash(stored)


def _issuer_first_format(secret: str, salt: bytes) -> str:
    """What issuer/oauth.py stored before service.oauth: scrypt$salt$digest, 2^14/8/1."""
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return f"scrypt${b64(salt)}${b64(digest)}"


def test_stored_values_of_an_existing_deployment_still_verify() -> None:
    issuer_row = _issuer_first_format("agency secret", b"\x07" * 16)
    verifier_setting = hashlib.sha256(b"counter secret").hexdigest()
    assert verify_client_secret("agency secret", issuer_row)
    assert not verify_client_secret("agency secret!", issuer_row)
    assert verify_client_secret("counter secret", verifier_setting)
    assert not verify_client_secret("counter secret!", verifier_setting)
    # Both are flagged for re-hashing; the verifier warns at start.
    assert needs_rehash(issuer_row) and needs_rehash(verifier_setting)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "scrypt$ln=14,r=8,p=1$!!$AAAA",
        "scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",  # would cost 2^30 * 1 KiB
        "scrypt$ln=14,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "bcrypt$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "A" * 64,  # not lower-case hex: not a SHA-256 either
    ],
)
def test_a_malformed_stored_value_verifies_nothing(stored: str) -> None:
    assert not verify_client_secret("anything", stored)
    assert needs_rehash(stored)


# --- the parser -------------------------------------------------------------------------


def test_basic_credentials_are_form_urlencoded_before_base64() -> None:
    # RFC 6749 §2.3.1: "a:b c" is sent as "a%3Ab+c".
    parsed = parse_client_credentials(authorization=_basic("a%3Ab", "x+y%25"), form={})
    assert parsed == ClientCredentials("a:b", "x y%")
    assert "x y%" not in repr(parsed)


@pytest.mark.parametrize(("client_id", "secret"), [("a", "b"), ("a:b", "c d+%é"), ("x", "")])
def test_basic_authorization_reads_back(client_id: str, secret: str) -> None:
    header = basic_authorization(client_id, secret)
    assert parse_client_credentials(authorization=header, form={}) == ClientCredentials(
        client_id, secret
    )


def test_form_credentials() -> None:
    form = {"client_id": "counter-1", "client_secret": "s"}
    assert parse_client_credentials(authorization=None, form=form) == ClientCredentials(
        "counter-1", "s"
    )
    assert parse_client_credentials(authorization=None, form={}) is None
    # A Bearer header at the token endpoint is not client authentication.
    assert parse_client_credentials(authorization="Bearer x", form={}) is None


def test_two_methods_at_once_are_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_client_credentials(authorization=_basic("a", "b"), form={"client_id": "a"})
    assert caught.value.code == "oauth.invalid_request"


@pytest.mark.parametrize(
    "header", ["Basic !!!", "Basic YQ", "basic " + base64.b64encode(b"no-colon").decode(), "Basic"]
)
def test_undecodable_basic_credentials_are_invalid_client(header: str) -> None:
    with pytest.raises(InvalidClient):
        parse_client_credentials(authorization=header, form={})


def test_authentication_says_the_same_for_an_unknown_id_and_a_wrong_secret() -> None:
    hashes = {"counter-1": hash_client_secret("right")}
    assert authenticate_client(ClientCredentials("counter-1", "right"), stored_hash=hashes.get) == (
        "counter-1"
    )
    messages = set()
    for credentials in (ClientCredentials("counter-1", "wrong"), ClientCredentials("nobody", "x")):
        with pytest.raises(InvalidClient) as caught:
            authenticate_client(credentials, stored_hash=hashes.get)
        messages.add(caught.value.message)
    assert len(messages) == 1
    for missing in (None, ClientCredentials("counter-1", ""), ClientCredentials("", "right")):
        with pytest.raises(InvalidClient):
            authenticate_client(missing, stored_hash=hashes.get)


def test_bearer_token() -> None:
    assert bearer_token(None) is None
    assert bearer_token("Bearer abc ") == "abc"
    assert bearer_token("bearer abc") == "abc"
    for bad in ("Basic abc", "Bearer", "Bearer   "):
        with pytest.raises(InvalidToken):
            bearer_token(bad)


# --- the codes --------------------------------------------------------------------------

ERRORS: list[type[GovidError]] = [
    InvalidRequest,
    UnsupportedGrantType,
    InvalidScope,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    InvalidToken,
    InsufficientScope,
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_each_error_answers_its_rfc_code(error: type[GovidError]) -> None:
    answer = oauth_error_response(error("no"))
    assert answer is not None
    status, body, headers = answer
    assert isinstance(error, type) and issubclass(error, oauth.OAuthError)
    # One vocabulary: the govid code is OAuth's, under "oauth.".
    assert error.code == "oauth." + body["error"]
    assert body == {"error": error.error, "error_description": "no", "govid_error": error.code}
    assert headers["Cache-Control"] == "no-store"
    assert status == {"invalid_client": 401, "invalid_token": 401, "insufficient_scope": 403}.get(
        body["error"], 400
    )
    if status in (401, 403):
        scheme = "Basic" if body["error"] == "invalid_client" else "Bearer"
        assert headers["WWW-Authenticate"] == f'{scheme} error="{body["error"]}"'


def test_other_errors_are_not_oauth_answers() -> None:
    assert oauth_error_response(GovidError("x")) is None


def test_a_locked_client_is_invalid_client_with_429_and_retry_after() -> None:
    # The issuer's per-account lockout: no challenge, so a browser does not prompt at once.
    answer = oauth_error_response(oauth.ClientLocked("locked", retry_after=42))
    assert answer is not None
    status, body, headers = answer
    assert (status, body["error"], body["govid_error"]) == (
        429,
        "invalid_client",
        "oauth.client_locked",
    )
    assert headers["Retry-After"] == "42"
    assert "WWW-Authenticate" not in headers
