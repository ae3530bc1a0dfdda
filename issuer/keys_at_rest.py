"""Secrets at rest: AES-256-GCM under a key-encryption key (KEK) from the environment.

Agencies' keyrings (their DID's private keys), the per-agency subject salt and
the claim values of pending offers are stored sealed. The KEK never touches
the database: it comes from `GOVID_ISSUER_KEK` (32 bytes, base64url), so a
copy of the database alone reveals nothing.

Each blob is `b"v1" || nonce (12 bytes) || ciphertext+tag`; the associated
data binds it to its row (`aad`, e.g. `b"agency-keyring:civil"`), so a blob
moved to another row does not open (NIST SP 800-38D; 96-bit random nonces).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from did.encoding import b64url_decode, b64url_encode
from did.errors import MalformedInput
from issuer.errors import KEKInvalid, SealedDataInvalid

__all__ = ["KEK", "new_kek_text"]

_VERSION: Final = b"v1"
_NONCE_BYTES: Final = 12


def new_kek_text() -> str:
    """A fresh KEK, spelled as `GOVID_ISSUER_KEK` expects it."""
    return b64url_encode(secrets.token_bytes(32))


@dataclass(frozen=True, slots=True, repr=False)
class KEK:
    """The key-encryption key. `repr` hides it so it cannot reach a log line."""

    key: bytes

    def __repr__(self) -> str:
        return "KEK(<hidden>)"

    @classmethod
    def parse(cls, text: str | None) -> KEK:
        if not text:
            raise KEKInvalid("no key-encryption key: set GOVID_ISSUER_KEK")
        try:
            # Padding is tolerated: some tools write it; the value is the same key.
            raw = b64url_decode(text.strip().rstrip("="), what="the key-encryption key")
        except MalformedInput as exc:
            raise KEKInvalid("the key-encryption key is not base64url") from exc
        if len(raw) != 32:
            raise KEKInvalid("the key-encryption key must be 32 bytes")
        return cls(raw)

    def mac(self, data: bytes) -> str:
        """A keyed hash (HMAC-SHA-256 under a key derived from the KEK), hex.

        For low-entropy secrets the issuer only compares (transaction codes):
        unlike a plain hash, a copy of the database does not let anyone try
        all one million six-digit codes offline.
        """
        mac_key = hmac.new(self.key, b"govid-issuer/mac-key/v1", hashlib.sha256).digest()
        return hmac.new(mac_key, data, hashlib.sha256).hexdigest()

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _VERSION + nonce + AESGCM(self.key).encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, *, aad: bytes) -> bytes:
        """The plaintext, or `SealedDataInvalid` (wrong KEK, wrong row, tampered)."""
        if blob[:2] != _VERSION or len(blob) < 2 + _NONCE_BYTES + 16:
            raise SealedDataInvalid("a sealed value is malformed")
        nonce, body = blob[2 : 2 + _NONCE_BYTES], blob[2 + _NONCE_BYTES :]
        try:
            return AESGCM(self.key).decrypt(nonce, body, aad)
        except InvalidTag as exc:
            raise SealedDataInvalid("a sealed value does not open with this key") from exc
