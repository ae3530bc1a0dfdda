"""Passphrase -> key (Argon2id, RFC 9106) and sealed blobs (AES-256-GCM, NIST SP 800-38D).

The wallet's data key is random; the passphrase only wraps it. So a passphrase
change or a backup under another passphrase re-wraps 32 bytes, not the store.

    sealed = nonce (12 bytes) || AES-GCM ciphertext || tag (16 bytes)

Every blob is sealed with associated data naming where it belongs (table and
row id), so a ciphertext moved to another row does not open (RFC 5116 §3).
Randomness comes from the caller (`rng`), `os.urandom` by default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from did.errors import MalformedInput
from holder_wallet.errors import BackupInvalid, PassphraseWrong

__all__ = [
    "KEY_SIZE",
    "KDFParams",
    "Rng",
    "derive_key",
    "new_data_key",
    "open_sealed",
    "seal",
    "unwrap_key",
    "wrap_key",
]

Rng = Callable[[int], bytes]
KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
_WRAP_AAD: Final = b"govid-wallet/data-key/v1"


@dataclass(frozen=True, slots=True)
class KDFParams:
    """Argon2id parameters, stored next to the salt so that they can be raised later.

    The default is RFC 9106 §4's second recommended option (64 MiB, t=3, p=4).
    """

    salt: bytes
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    @classmethod
    def new(cls, rng: Rng = os.urandom, **costs: int) -> KDFParams:
        return cls(salt=rng(16), **costs)

    @classmethod
    def insecure_fast_for_tests(cls, rng: Rng = os.urandom) -> KDFParams:
        """Cheap costs so that tests can create many wallets; never for real data."""
        return cls(salt=rng(16), time_cost=1, memory_kib=8, parallelism=1)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["salt"] = self.salt.hex()
        out["alg"] = "argon2id"
        return out

    @classmethod
    def from_json(cls, obj: object) -> KDFParams:
        if not isinstance(obj, dict) or obj.get("alg") != "argon2id":
            raise BackupInvalid("the key derivation parameters are not Argon2id")
        try:
            params = cls(
                salt=bytes.fromhex(str(obj["salt"])),
                time_cost=int(obj["time_cost"]),
                memory_kib=int(obj["memory_kib"]),
                parallelism=int(obj["parallelism"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupInvalid("the key derivation parameters are malformed") from exc
        # Bounds: a hostile file must not make us allocate gigabytes or spin for hours.
        if not (
            len(params.salt) >= 16
            and 1 <= params.time_cost <= 16
            and 8 <= params.memory_kib <= 1024 * 1024
            and 1 <= params.parallelism <= 16
        ):
            raise BackupInvalid("the key derivation parameters are out of bounds")
        return params


def derive_key(passphrase: str, params: KDFParams) -> bytes:
    """Argon2id (RFC 9106 §3) of the UTF-8 passphrase: a 256-bit key-encryption key."""
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        params.salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_SIZE,
        type=Type.ID,
    )


def new_data_key(rng: Rng = os.urandom) -> bytes:
    return rng(KEY_SIZE)


def seal(key: bytes, plaintext: bytes, *, aad: bytes, rng: Rng = os.urandom) -> bytes:
    """AES-256-GCM with a fresh 96-bit random nonce (SP 800-38D §8.2.2)."""
    nonce = rng(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, *, aad: bytes) -> bytes:
    """Open a blob from `seal`; `MalformedInput` if it was altered, moved or is not ours."""
    if len(sealed) < NONCE_SIZE + 16:
        raise MalformedInput("an encrypted record is truncated")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
    except InvalidTag as exc:
        raise MalformedInput("an encrypted record does not open with the wallet key") from exc


def wrap_key(
    data_key: bytes, passphrase: str, params: KDFParams, *, rng: Rng = os.urandom
) -> bytes:
    return seal(derive_key(passphrase, params), data_key, aad=_WRAP_AAD, rng=rng)


def unwrap_key(wrapped: bytes, passphrase: str, params: KDFParams) -> bytes:
    """The data key, or `wallet.passphrase_invalid`. Nothing is written either way."""
    try:
        return open_sealed(derive_key(passphrase, params), wrapped, aad=_WRAP_AAD)
    except MalformedInput as exc:
        # GCM cannot tell a wrong passphrase from a damaged record; both reveal nothing.
        raise PassphraseWrong("the passphrase is not correct") from exc
