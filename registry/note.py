"""C2SP signed-note: text signed by one or more keys, with Ed25519 (type 0x01) keys.

    <text ending in a newline>
    <blank line>
    — <key name> base64(4-byte key ID || signature)
    ...

`open_note` is the only way to read a note's text: it returns a `VerifiedNote`
once at least one configured key has verified, and raises otherwise. The
signature algorithm is pluggable through the `NoteKey` protocol, so witness
cosignatures (type 0x04, `registry.cosignature`) are checked by the same code.

Keys travel as text (signed-note "Verifier keys"):

    vkey  <name>+<hex key ID>+base64(0x01 || 32-byte public key)
    skey  PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)

The skey format is the one of golang.org/x/mod/sumdb/note, so keys move
between govid and Go tooling; an skey is a secret and belongs in encrypted
storage only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from did.encoding import b64_decode, b64_encode
from registry.errors import NoteKeyMalformed, NoteMalformed, NoteSignatureInvalid, NoteUnknownKey

# signed-note "Signature types".
SIGNATURE_TYPE_ED25519: Final = 0x01

EM_DASH: Final = "\u2014"
_SIG_PREFIX: Final = EM_DASH + " "
KEY_ID_SIZE: Final = 4
ED25519_SIZE: Final = 32
ED25519_SIGNATURE_SIZE: Final = 64

# signed-note "Format": verifiers SHOULD bound the number of signatures and MUST
# accept at least 16. The byte bound leaves room for 16 post-quantum signatures.
MAX_SIGNATURES: Final = 64
MAX_NOTE_BYTES: Final = 256 * 1024


# --- shared encodings -----------------------------------------------------------


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4] (signed-note "Signatures")."""
    material = name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def check_key_name(name: str, *, error: type[Exception] = NoteKeyMalformed) -> None:
    """Key names MUST be non-empty and contain no Unicode spaces or '+' (signed-note "Format")."""
    if not name or "+" in name or any(c.isspace() or ord(c) < 0x20 for c in name):
        raise error("a key name must be non-empty, without spaces, '+' or control characters")


class VKeyParts(NamedTuple):
    name: str
    key_id: bytes
    signature_type: int
    key_material: bytes


def parse_vkey(vkey: str) -> VKeyParts:
    """Split `<name>+<hex key ID>+base64(type || key)`; the caller checks type and key."""
    # The base64 part may itself contain '+'; the name and the ID cannot.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteKeyMalformed("a verifier key has three '+'-separated parts")
    name, hex_id, b64 = parts
    check_key_name(name)
    if len(hex_id) != 2 * KEY_ID_SIZE or hex_id != hex_id.lower():
        raise NoteKeyMalformed("a verifier key's ID is 8 lowercase hex digits")
    try:
        kid = bytes.fromhex(hex_id)
    except ValueError as exc:
        raise NoteKeyMalformed("a verifier key's ID is 8 lowercase hex digits") from exc
    raw = b64_decode(b64, what="the verifier key", error=NoteKeyMalformed)
    if not raw:
        raise NoteKeyMalformed("the verifier key has no signature type")
    return VKeyParts(name, kid, raw[0], raw[1:])


def format_vkey(name: str, kid: bytes, signature_type: int, key_material: bytes) -> str:
    return f"{name}+{kid.hex()}+{b64_encode(bytes([signature_type]) + key_material)}"


def ed25519_public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_public_key(
    raw: bytes, *, error: type[Exception] = NoteKeyMalformed
) -> Ed25519PublicKey:
    if len(raw) != ED25519_SIZE:
        raise error("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


# --- notes ------------------------------------------------------------------------


def check_note_text(text: str) -> None:
    """Raise `NoteMalformed` unless `text` may be the text of a signed note."""
    if not text.endswith("\n"):
        raise NoteMalformed("a note text must end with a newline")
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise NoteMalformed("the note is too large")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteMalformed("a note must not contain control characters other than newline")


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: who (name and key ID) and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Parse `— <name> <base64>` (without the newline)."""
        if not line.startswith(_SIG_PREFIX):
            raise NoteMalformed("a signature line starts with an em dash and a space")
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep:
            raise NoteMalformed("a signature line has a key name and a signature")
        check_key_name(name, error=NoteMalformed)
        raw = b64_decode(b64, what="a signature", error=NoteMalformed)
        if len(raw) <= KEY_ID_SIZE:
            raise NoteMalformed("a signature is a key ID followed by signature bytes")
        return cls(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])

    def to_line(self) -> str:
        """The signature line, including its final newline."""
        return f"{_SIG_PREFIX}{self.name} {b64_encode(self.key_id + self.signature)}\n"


def parse_signature_lines(text: str) -> tuple[NoteSignature, ...]:
    """Parse a block of signature lines, each ending in a newline (a witness's reply)."""
    if not text.endswith("\n"):
        raise NoteMalformed("signature lines end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteMalformed("a note must not contain control characters other than newline")
    lines = text[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteMalformed("the note has too many signatures")
    return tuple(NoteSignature.parse_line(line) for line in lines)


@dataclass(frozen=True, slots=True)
class Note:
    """A signed note as parsed, *not yet verified*: read its text only through `open_note`."""

    unverified_text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, data: str | bytes) -> Note:
        """Split a signed note into text and signature lines; check only the syntax."""
        # A str is never longer than its UTF-8 encoding: bound before decoding.
        if len(data) > MAX_NOTE_BYTES:
            raise NoteMalformed("the note is too large")
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NoteMalformed("a note must be UTF-8") from exc
        if len(data.encode("utf-8")) > MAX_NOTE_BYTES:
            raise NoteMalformed("the note is too large")
        # The text is separated from the signatures by the *last* blank line.
        split = data.rfind("\n\n")
        if split < 0:
            raise NoteMalformed("a signed note needs a blank line before its signatures")
        text, block = data[: split + 1], data[split + 2 :]
        check_note_text(text)
        if not block:
            raise NoteMalformed("a signed note has at least one signature line")
        return cls(text, parse_signature_lines(block))

    def to_text(self) -> str:
        return self.unverified_text + "\n" + "".join(s.to_line() for s in self.signatures)

    def with_signatures(self, extra: Sequence[NoteSignature]) -> Note:
        """This note with `extra` signature lines appended (e.g. cosignatures)."""
        return Note(self.unverified_text, (*self.signatures, *extra))


class NoteKey(Protocol):
    """A configured public key: what `open_note` needs to check one signature line."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> None:
        """Raise a `VerificationFailed` unless `signature` (without key ID) signs `text`."""
        ...


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    key: NoteKey
    signature: bytes


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note whose `text` verified under `verified` (at least one configured key)."""

    text: str
    verified: tuple[VerifiedSignature, ...]
    signatures: tuple[NoteSignature, ...]


def verify_signatures(note: Note, keys: Sequence[NoteKey]) -> tuple[VerifiedSignature, ...]:
    """Verify every line of `note` that comes from one of `keys`; ignore the others.

    Returns the verified lines, possibly none: the caller decides how many it
    needs. A line from a configured key that does not verify rejects the whole
    note (signed-note "Signatures": clients SHOULD), with the key's error; a
    line whose name and key ID are configured more than once raises
    `NoteKeyMalformed`.
    """
    by_id: dict[tuple[str, bytes], list[NoteKey]] = {}
    for key in keys:
        by_id.setdefault((key.name, key.key_id), []).append(key)
    message = note.unverified_text.encode("utf-8")
    verified: list[VerifiedSignature] = []
    for sig in note.signatures:
        matches = by_id.get((sig.name, sig.key_id))
        if matches is None:  # unknown keys MUST be ignored, even if the name or ID matches
            continue
        if len(matches) > 1:
            # A (name, key ID) configured twice is ambiguous, whether it is one key
            # object listed twice or two equal ones: refused when a line names it,
            # as golang.org/x/mod/sumdb/note's VerifierList does.
            raise NoteKeyMalformed("two configured keys share a name and key ID")
        (match,) = matches
        match.verify(message, sig.signature)
        verified.append(VerifiedSignature(match, sig.signature))
    return tuple(verified)


def open_note(data: str | bytes | Note, keys: Sequence[NoteKey]) -> VerifiedNote:
    """Verify a signed note against the configured `keys` (signed-note "Signatures").

    1. Parse; a syntax error raises `NoteMalformed`.
    2. Ignore lines whose (name, key ID) matches no key, as the spec requires.
    3. Verify every line that matches a key; one failure rejects the whole
       note with the key's error (`NoteSignatureInvalid` for note keys,
       `CosignatureInvalid` for witness keys).
    4. Raise `NoteUnknownKey` if no line came from a configured key (MUST).
    """
    note = data if isinstance(data, Note) else Note.parse(data)  # (1)
    verified = verify_signatures(note, keys)  # (2, 3)
    if not verified:  # (4)
        raise NoteUnknownKey("the note carries no signature from a trusted key")
    return VerifiedNote(note.unverified_text, verified, note.signatures)


# --- Ed25519 (signature type 0x01) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """An Ed25519 note key. Build it with `from_vkey` or `for_key`; the key ID is checked."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        expected = key_id(self.name, SIGNATURE_TYPE_ED25519, ed25519_public_bytes(self.public_key))
        if self.key_id != expected:
            raise NoteKeyMalformed("the key ID does not match the key name and public key")

    @classmethod
    def for_key(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        raw = ed25519_public_bytes(public_key)
        return cls(name, key_id(name, SIGNATURE_TYPE_ED25519, raw), public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = parse_vkey(vkey)
        if parts.signature_type != SIGNATURE_TYPE_ED25519:
            raise NoteKeyMalformed("the verifier key is not an Ed25519 note key (type 0x01)")
        return cls(parts.name, parts.key_id, ed25519_public_key(parts.key_material))

    def to_vkey(self) -> str:
        raw = ed25519_public_bytes(self.public_key)
        return format_vkey(self.name, self.key_id, SIGNATURE_TYPE_ED25519, raw)

    def verify(self, text: bytes, signature: bytes) -> None:
        if len(signature) != ED25519_SIGNATURE_SIZE:
            raise NoteSignatureInvalid("an Ed25519 signature is 64 bytes")
        try:
            self.public_key.verify(signature, text)
        except InvalidSignature as exc:
            raise NoteSignatureInvalid("a signature from a trusted key does not verify") from exc


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """An Ed25519 note signing key. Its `repr` never shows the private key."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)`."""
        prefix = "PRIVATE+KEY+"
        if not skey.startswith(prefix):
            raise NoteKeyMalformed("a signer key starts with PRIVATE+KEY+")
        # The rest has the shape of a vkey, with the seed as key material.
        parts = parse_vkey(skey[len(prefix) :])
        if parts.signature_type != SIGNATURE_TYPE_ED25519 or len(parts.key_material) != 32:
            raise NoteKeyMalformed("the signer key is not an Ed25519 note key")
        signer = cls(parts.name, Ed25519PrivateKey.from_private_bytes(parts.key_material))
        if signer.key_id != parts.key_id:
            raise NoteKeyMalformed("the key ID does not match the key name and private key")
        return signer

    def to_skey(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return "PRIVATE+KEY+" + format_vkey(self.name, self.key_id, SIGNATURE_TYPE_ED25519, seed)

    @property
    def key_id(self) -> bytes:
        raw = ed25519_public_bytes(self.private_key.public_key())
        return key_id(self.name, SIGNATURE_TYPE_ED25519, raw)

    def verifier(self) -> NoteVerifier:
        return NoteVerifier.for_key(self.name, self.private_key.public_key())

    def sign(self, text: str) -> NoteSignature:
        """Sign a note text (it must end with a newline)."""
        check_note_text(text)
        return NoteSignature(self.name, self.key_id, self.private_key.sign(text.encode("utf-8")))


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """The signed note: `text`, a blank line, one signature line per signer."""
    if not signers:
        raise NoteMalformed("a signed note needs at least one signature")
    return Note(text, tuple(s.sign(text) for s in signers)).to_text()


def generate_key(name: str) -> tuple[str, str]:
    """A fresh Ed25519 note key as (skey, vkey), like Go's `note.GenerateKey`."""
    signer = NoteSigner.generate(name)
    return signer.to_skey(), signer.verifier().to_vkey()
