"""C2SP tlog-cosignature v1: a witness's timestamped Ed25519 signature on a checkpoint.

A cosignature is a signed-note signature line whose key ID uses signature type
0x04 and whose signature bytes are a `timestamped_signature`:

    key ID (4) || timestamp (u64, big-endian) || Ed25519 signature (64)

over the message

    cosignature/v1
    time <timestamp>
    <the checkpoint body, including its final newline>

`WitnessVerifier` implements `registry.note.NoteKey`, so cosignatures are
found and checked by `registry.note.verify_signatures` like any note line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry.checkpoint import Checkpoint
from registry.errors import CosignatureInvalid, NoteKeyMalformed
from registry.note import (
    ED25519_SIGNATURE_SIZE,
    NoteSignature,
    check_key_name,
    ed25519_public_bytes,
    ed25519_public_key,
    format_vkey,
    key_id,
    parse_vkey,
)

# signed-note "Signature types": 0x04, timestamped Ed25519 checkpoint cosignatures.
SIGNATURE_TYPE_COSIGNATURE_V1: Final = 0x04
_HEADER: Final = b"cosignature/v1\n"
_TIMESTAMP_SIZE: Final = 8
COSIGNATURE_SIZE: Final = _TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE
# tlog-cosignature "Format": the timestamp MUST NOT exceed 2^63 - 1.
MAX_TIMESTAMP: Final = 2**63 - 1


def cosigned_message(checkpoint_body: bytes, timestamp: int) -> bytes:
    """The Ed25519 signed message (tlog-cosignature "Ed25519 signed message")."""
    return _HEADER + b"time %d\n" % timestamp + checkpoint_body


def cosignature_timestamp(signature: bytes) -> int:
    """The timestamp of a `timestamped_signature` (the bytes after the key ID), unverified."""
    if len(signature) != COSIGNATURE_SIZE:
        raise CosignatureInvalid("a cosignature is an 8-byte timestamp and a 64-byte signature")
    return int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")


@dataclass(frozen=True, slots=True)
class WitnessVerifier:
    """A witness's cosigning public key; the key ID is derived (type 0x04)."""

    name: str
    public_key: Ed25519PublicKey = field(repr=False)
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        raw = ed25519_public_bytes(self.public_key)
        object.__setattr__(self, "key_id", key_id(self.name, SIGNATURE_TYPE_COSIGNATURE_V1, raw))

    @classmethod
    def from_vkey(cls, vkey: str) -> WitnessVerifier:
        """Parse `<name>+<hex key ID>+base64(0x04 || public key)`; the key ID is checked."""
        parts = parse_vkey(vkey)
        if parts.signature_type != SIGNATURE_TYPE_COSIGNATURE_V1:
            raise NoteKeyMalformed("the verifier key is not a cosignature v1 key (type 0x04)")
        verifier = cls(parts.name, ed25519_public_key(parts.key_material))
        if verifier.key_id != parts.key_id:
            raise NoteKeyMalformed("the key ID does not match the key name and public key")
        return verifier

    def to_vkey(self) -> str:
        raw = ed25519_public_bytes(self.public_key)
        return format_vkey(self.name, self.key_id, SIGNATURE_TYPE_COSIGNATURE_V1, raw)

    @property
    def public_bytes(self) -> bytes:
        return ed25519_public_bytes(self.public_key)

    def verify(self, text: bytes, signature: bytes) -> None:
        """`NoteKey.verify`: raise `CosignatureInvalid` unless this witness cosigned `text`."""
        verify_cosignature(text, verifier=self, signature=signature)


def verify_cosignature(
    checkpoint_body: bytes, *, verifier: WitnessVerifier, signature: bytes
) -> int:
    """Return the timestamp of a valid cosignature of `checkpoint_body`; raise otherwise.

    `signature` is the `timestamped_signature` (the line's bytes after the key
    ID). Raises `CosignatureInvalid`. Freshness is the caller's policy
    (`registry.policy`).
    """
    timestamp = cosignature_timestamp(signature)
    if timestamp > MAX_TIMESTAMP:
        raise CosignatureInvalid("the cosignature timestamp is out of range")
    message = cosigned_message(checkpoint_body, timestamp)
    try:
        verifier.public_key.verify(signature[_TIMESTAMP_SIZE:], message)
    except InvalidSignature as exc:
        raise CosignatureInvalid("a cosignature from a trusted witness does not verify") from exc
    return timestamp


@dataclass(frozen=True, slots=True)
class CosignatureSigner:
    """A witness's cosigning private key. Its `repr` never shows the key."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    def verifier(self) -> WitnessVerifier:
        return WitnessVerifier(self.name, self.private_key.public_key())

    def cosign(self, checkpoint: Checkpoint, *, now: datetime) -> NoteSignature:
        """The cosignature line for `checkpoint` at `now` (whole seconds, never zero).

        `now` must be timezone-aware: a naive datetime would be read in the
        machine's local zone and could shift the timestamp by hours.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        timestamp = int(now.timestamp())
        # tlog-witness "add-checkpoint": the timestamp MUST NOT be zero.
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise ValueError("now is outside the range of cosignature timestamps")
        message = cosigned_message(checkpoint.to_text().encode("utf-8"), timestamp)
        signature = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + self.private_key.sign(message)
        return NoteSignature(self.name, self.verifier().key_id, signature)
