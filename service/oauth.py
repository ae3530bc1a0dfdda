"""OAuth 2.0 client credentials, written once: the hash, the parser, the error codes.

Used by every token endpoint (the issuer's and the verifier's) and by the
resource servers behind them.

- **Secrets at rest** (RFC 6749 §2.3.1 leaves storage open): scrypt
  (RFC 7914) with a 16-byte random salt, stored as
  `scrypt$ln=14,r=8,p=1$<salt>$<digest>` (base64url) so the cost can be
  raised later without breaking stored values; compared with
  `hmac.compare_digest`. The issuer's older `scrypt$<salt>$<digest>` (same
  parameters) and the verifier's older bare SHA-256 hex still verify, and
  `needs_rehash` says so (docs/decisions/protocol.md §1).
- **Client authentication** (§2.3.1): HTTP Basic with the form-urlencoded id
  and secret, or `client_id`/`client_secret` in the form body; never both
  (§2.3: "MUST NOT use more than one authentication method").
- **Errors**: the §5.2 token-endpoint codes and the RFC 6750 §3.1
  resource-server codes as classes in the govid tree, each carrying the
  wire `error` value, its HTTP status and challenge scheme, so every service
  answers them the same way (`oauth_error_response`).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final
from urllib.parse import quote_plus, unquote_plus

from did.encoding import b64url_decode, b64url_encode
from did.errors import (
    Forbidden,
    GovidError,
    MalformedInput,
    Unauthorized,
    VerificationFailed,
)

__all__ = [
    "CLIENT_CREDENTIALS_GRANT",
    "ClientCredentials",
    "ClientLocked",
    "InsufficientScope",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "OAuthError",
    "RandomBytes",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "authenticate_client",
    "basic_authorization",
    "bearer_token",
    "hash_client_secret",
    "needs_rehash",
    "oauth_error_response",
    "parse_client_credentials",
    "verify_client_secret",
]

CLIENT_CREDENTIALS_GRANT: Final = "client_credentials"  # RFC 6749 §4.4.2
MAX_CREDENTIAL_LENGTH: Final = 1024

RandomBytes = Callable[[int], bytes]


# --- errors -------------------------------------------------------------------------------


class OAuthError:
    """Mixin: a govid error that OAuth names. `error` is the wire value (RFC 6749 §5.2,
    RFC 6750 §3.1); `status` and `challenge` shape the HTTP answer."""

    error: ClassVar[str]
    status: ClassVar[int] = 400
    challenge: ClassVar[str | None] = None


class InvalidRequest(OAuthError, MalformedInput):
    code = "oauth.invalid_request"
    error = "invalid_request"


class UnsupportedGrantType(InvalidRequest):
    code = "oauth.unsupported_grant_type"
    error = "unsupported_grant_type"


class InvalidScope(OAuthError, MalformedInput):
    """The token request asks for a scope the client was not granted (§5.2)."""

    code = "oauth.invalid_scope"
    error = "invalid_scope"


class InvalidClient(OAuthError, Unauthorized):
    """Client authentication failed: unknown client, wrong secret, none given (§5.2)."""

    code = "oauth.invalid_client"
    error = "invalid_client"
    status = 401
    challenge: ClassVar[str | None] = "Basic"


class ClientLocked(InvalidClient):
    """Too many failed client-secret checks for this account or from this address.

    Every check is refused, the right secret included, for `retry_after`
    seconds. RFC 6749 §5.2 has no code for "locked": `invalid_client` with 429
    (RFC 6585 §4) and `Retry-After`, and no challenge, so that a browser does
    not prompt again at once.
    """

    code = "oauth.client_locked"
    status = 429
    challenge = None

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidGrant(OAuthError, VerificationFailed):
    """The grant (a code, say) is invalid, expired, used or not the client's (§5.2)."""

    code = "oauth.invalid_grant"
    error = "invalid_grant"


class UnauthorizedClient(OAuthError, Forbidden):
    """The client is authenticated but may not use this grant type (§5.2)."""

    code = "oauth.unauthorized_client"
    error = "unauthorized_client"


class InvalidToken(OAuthError, Unauthorized):
    """The access token is missing, unknown or expired (RFC 6750 §3.1)."""

    code = "oauth.invalid_token"
    error = "invalid_token"
    status = 401
    challenge = "Bearer"


class InsufficientScope(OAuthError, Forbidden):
    """The access token does not carry the scope this request needs (RFC 6750 §3.1)."""

    code = "oauth.insufficient_scope"
    error = "insufficient_scope"
    status = 403
    challenge = "Bearer"


def oauth_error_response(exc: GovidError) -> tuple[int, dict[str, str], dict[str, str]] | None:
    """`(status, body, headers)` for an OAuth error, or None for any other error.

    The body keeps govid's stable code beside OAuth's: `{"error",
    "error_description", "govid_error"}`; answers are never cached (§5.1).
    """
    retry_after = exc.retry_after if isinstance(exc, ClientLocked) else None
    if not isinstance(exc, OAuthError):
        return None
    body = {"error": exc.error, "error_description": exc.message, "govid_error": exc.code}
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if exc.challenge is not None:
        # RFC 6750 §3 and RFC 6749 §5.2: name the scheme and the error.
        headers["WWW-Authenticate"] = f'{exc.challenge} error="{exc.error}"'
    return exc.status, body, headers


# --- secrets at rest ----------------------------------------------------------------------

# RFC 7914 §2 parameters: N = 2^14 costs 16 MiB and tens of milliseconds, which
# bounds what a flood of wrong guesses at a token endpoint can cost us; the
# secrets govid issues are 256-bit random values, which no cost factor protects
# better than their length.
_LOG_N: Final = 14
_R: Final = 8
_P: Final = 1
_SALT_BYTES: Final = 16
_DIGEST_BYTES: Final = 32
_PARAMS_RE: Final = re.compile(r"ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})")
_LEGACY_SHA256_RE: Final = re.compile(r"[0-9a-f]{64}")
# Hashed when the client id is unknown, so that timing does not tell which ids exist.
_DUMMY: Final = "scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43


def _scrypt(secret: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"),
        salt=salt,
        n=1 << log_n,
        r=r,
        p=p,
        dklen=_DIGEST_BYTES,
        maxmem=256 * 1024 * 1024,
    )


def hash_client_secret(secret: str, *, token_bytes: RandomBytes = secrets.token_bytes) -> str:
    """The stored form of a client secret: scrypt with a fresh salt."""
    salt = token_bytes(_SALT_BYTES)
    digest = _scrypt(secret, salt, _LOG_N, _R, _P)
    return f"scrypt$ln={_LOG_N},r={_R},p={_P}${b64url_encode(salt)}${b64url_encode(digest)}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) == 3:  # the issuer's first format: scrypt$salt$digest at 2^14, 8, 1
        parts = [parts[0], f"ln={_LOG_N},r={_R},p={_P}", parts[1], parts[2]]
    if len(parts) != 4 or parts[0] != "scrypt":
        return None
    match = _PARAMS_RE.fullmatch(parts[1])
    if match is None:
        return None
    log_n, r, p = (int(g) for g in match.groups())
    if not (10 <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16):
        return None  # a stored value must not make us spend unbounded memory
    try:
        salt, digest = b64url_decode(parts[2]), b64url_decode(parts[3])
    except MalformedInput:
        return None
    return log_n, r, p, salt, digest


def verify_client_secret(secret: str, stored: str) -> bool:
    """True iff `secret` matches `stored`; the digests are compared in constant time.

    A malformed `stored` value verifies nothing.
    """
    if _LEGACY_SHA256_RE.fullmatch(stored):
        given = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        return hmac.compare_digest(given.encode("ascii"), stored.encode("ascii"))
    parsed = _parse(stored)
    if parsed is None:
        return False
    log_n, r, p, salt, expected = parsed
    return hmac.compare_digest(_scrypt(secret, salt, log_n, r, p), expected)


def needs_rehash(stored: str) -> bool:
    """True when `stored` is not in the current form (an older format or lower cost)."""
    parsed = None if _LEGACY_SHA256_RE.fullmatch(stored) else _parse(stored)
    return parsed is None or parsed[:3] != (_LOG_N, _R, _P) or stored.count("$") != 3


# --- client authentication ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """A client id and secret as presented; nothing is verified yet."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never print a secret
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=<hidden>)"


def _basic(encoded: str) -> ClientCredentials:
    try:
        raw = binascii.a2b_base64(encoded.encode("ascii"), strict_mode=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidClient("the Basic credentials do not decode") from exc
    client_id, sep, secret = raw.partition(":")
    if not sep or not client_id:
        raise InvalidClient("the Basic credentials are not id:secret")
    # §2.3.1: both are application/x-www-form-urlencoded before base64.
    return ClientCredentials(unquote_plus(client_id), unquote_plus(secret))


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The `Authorization` value a client sends (§2.3.1: form-urlencoded, then Basic)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + binascii.b2a_base64(raw, newline=False).decode("ascii")


def parse_client_credentials(
    *, authorization: str | None, form: Mapping[str, str | None]
) -> ClientCredentials | None:
    """The client credentials of a token request (RFC 6749 §2.3.1), or None if none.

    An `Authorization` header of another scheme is not client authentication
    and is ignored here. Raises `InvalidRequest` when both methods are used,
    `InvalidClient` when the Basic value does not decode.
    """
    basic = None
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() == "basic":  # RFC 7617 §2; scheme names are case-insensitive
        if len(value) > 4 * MAX_CREDENTIAL_LENGTH:
            raise InvalidClient("the Basic credentials are too long")
        basic = _basic(value.strip())
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if basic is not None:
        if client_id is not None or secret is not None:
            raise InvalidRequest("use one client authentication method, not two")
        return basic
    if client_id is None and secret is None:
        return None
    return ClientCredentials(client_id or "", secret or "")


def authenticate_client(
    credentials: ClientCredentials | None, *, stored_hash: Callable[[str], str | None]
) -> str:
    """The client id if `credentials` match the stored hash `stored_hash(id)` returns.

    Raises `InvalidClient` otherwise. A hash is computed even for an unknown
    id, so timing does not tell which ids exist.
    """
    if credentials is None or not credentials.client_id or not credentials.client_secret:
        raise InvalidClient("client authentication is required")
    if len(credentials.client_id) > MAX_CREDENTIAL_LENGTH:
        raise InvalidClient("client authentication failed")
    stored = stored_hash(credentials.client_id)
    matched = verify_client_secret(credentials.client_secret, stored or _DUMMY)
    if stored is None or not matched:
        raise InvalidClient("client authentication failed")
    return credentials.client_id


def bearer_token(authorization: str | None) -> str | None:
    """The access token of an `Authorization: Bearer` header (RFC 6750 §2.1), or None.

    Raises `InvalidToken` for another scheme or an empty token.
    """
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidToken("use a Bearer access token")
    return value.strip()
