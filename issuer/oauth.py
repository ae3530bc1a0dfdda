"""The issuer's OAuth 2.0 bearer values: access tokens, pre-authorized and transaction codes.

Pure helpers; randomness is an argument (`token_bytes`, default `secrets`).
Client secrets are hashed and checked by `service.oauth`, shared with the
verifier.

- Access tokens and pre-authorized codes are 256-bit random strings stored as
  SHA-256 (they have full entropy, so a fast hash is enough).
- Transaction codes are short numeric strings (OpenID4VCI §4.1.1 `tx_code`,
  `input_mode: numeric`); they are stored as a KEK-keyed MAC by the caller.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from did.encoding import b64url_encode

__all__ = [
    "hash_token",
    "new_client_id",
    "new_token",
    "new_tx_code",
]

RandomBytes = Callable[[int], bytes]


def new_token(token_bytes: RandomBytes = secrets.token_bytes) -> str:
    """A 256-bit random bearer value, base64url."""
    return b64url_encode(token_bytes(32))


def new_client_id(agency: str, token_bytes: RandomBytes = secrets.token_bytes) -> str:
    return f"{agency}-{b64url_encode(token_bytes(9))}"


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
