"""OAuth 2.0 secrets: client secrets, access tokens, pre-authorized and transaction codes.

Pure helpers; randomness is an argument (`token_bytes`, default `secrets`).

- Client secrets (RFC 6749 §2.3.1) are stored as scrypt hashes (RFC 7914,
  N=2^14, r=8, p=1, 16-byte salt) and compared in constant time.
- Access tokens and pre-authorized codes are 256-bit random strings stored as
  SHA-256 (they have full entropy, so a fast hash is enough).
- Transaction codes are short numeric strings (OpenID4VCI §4.1.1 `tx_code`,
  `input_mode: numeric`); they are stored as a KEK-keyed MAC by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Final

__all__ = [
    "CLIENT_CREDENTIALS_GRANT",
    "hash_client_secret",
    "hash_token",
    "new_client_id",
    "new_token",
    "new_tx_code",
    "verify_client_secret",
]

CLIENT_CREDENTIALS_GRANT: Final = "client_credentials"
_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1}

RandomBytes = Callable[[int], bytes]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def new_token(token_bytes: RandomBytes = secrets.token_bytes) -> str:
    """A 256-bit random bearer value, base64url."""
    return _b64(token_bytes(32))


def new_client_id(agency: str, token_bytes: RandomBytes = secrets.token_bytes) -> str:
    return f"{agency}-{_b64(token_bytes(9))}"


def new_tx_code(length: int, token_bytes: RandomBytes = secrets.token_bytes) -> str:
    """`length` decimal digits, uniformly random (rejection sampling, no modulo bias)."""
    digits: list[str] = []
    while len(digits) < length:
        for byte in token_bytes(length):
            if byte < 250 and len(digits) < length:
                digits.append(str(byte % 10))
    return "".join(digits)


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hash_client_secret(secret: str, token_bytes: RandomBytes = secrets.token_bytes) -> str:
    salt = token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_b64(salt)}${_b64(digest)}"


def verify_client_secret(secret: str, stored: str) -> bool:
    """True iff `secret` hashes to `stored`; constant time in the digest comparison."""
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        salt = base64.urlsafe_b64decode(salt_b64 + "=" * (-len(salt_b64) % 4))
        expected = base64.urlsafe_b64decode(digest_b64 + "=" * (-len(digest_b64) % 4))
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, expected)
