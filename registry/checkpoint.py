"""C2SP tlog-checkpoint: a log's signed tree head as a signed note.

    <origin>
    <tree size, decimal, no leading zeroes>
    <root hash, standard base64>
    [extension lines]

Parsing is strict in the sense that matters for signatures: a body is
accepted only if `Checkpoint.to_text()` gives back exactly the same bytes, so
a cosigner signs what a client later re-formats.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from did.encoding import b64_decode, b64_encode
from registry.errors import CheckpointMalformed, CheckpointOriginMismatch
from registry.merkle import HASH_SIZE
from registry.note import (
    Note,
    NoteKey,
    NoteSigner,
    NoteVerifier,
    VerifiedNote,
    open_note,
)

# tlog-checkpoint "Note text" 2: ASCII decimal, no leading zeroes unless 0.
_SIZE_RE: Final = re.compile(r"0|[1-9][0-9]{0,19}")
# Not in the spec: tree sizes are uint64 in every implementation of it.
MAX_TREE_SIZE: Final = 2**64 - 1


def _check_line(value: str, what: str) -> None:
    # A line is non-empty and holds no newline or other control character
    # (signed-note "Format" forbids them everywhere but as line ends).
    if not value or any(ord(c) < 0x20 for c in value):
        raise CheckpointMalformed(f"the checkpoint {what} must be a non-empty line of text")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head. `parse` reads a note body; the constructor checks each field."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointMalformed("the checkpoint size is not a uint64")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointMalformed("the checkpoint root hash is not 32 bytes")
        for line in self.extensions:
            _check_line(line, "extension line")

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a note body (tlog-checkpoint "Note text" 1-4); raise `CheckpointMalformed`."""
        if not body.endswith("\n"):
            raise CheckpointMalformed("a checkpoint body ends with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointMalformed("a checkpoint has an origin, a size and a root hash")
        origin, size_text, root_text, *extensions = lines
        if _SIZE_RE.fullmatch(size_text) is None:
            raise CheckpointMalformed("the checkpoint size is not a decimal without leading zeroes")
        root = b64_decode(root_text, what="the root hash", error=CheckpointMalformed)
        checkpoint = cls(origin, int(size_text), root, tuple(extensions))
        if checkpoint.to_text() != body:  # pragma: no cover - guarded by the checks above
            raise CheckpointMalformed("the checkpoint is not in its canonical form")
        return checkpoint

    def to_text(self) -> str:
        """The note body, ending with a newline."""
        lines = [self.origin, str(self.size), b64_encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def sign_checkpoint(checkpoint: Checkpoint, *, signer: NoteSigner) -> str:
    """The signed note of `checkpoint` with the log's signature line."""
    body = checkpoint.to_text()
    return Note(body, (signer.sign(body),)).to_text()


def open_checkpoint(
    note_text: str | bytes | Note, *, origin: str, keys: Sequence[NoteKey]
) -> tuple[Checkpoint, VerifiedNote]:
    """Verify the note with `keys`, then parse its body and check the origin.

    1. The note must verify under one of `keys` (`note.*` errors); until then
       its text is not looked at, as signed-note requires.
    2. The body must be a checkpoint (`checkpoint.malformed`).
    3. Its origin must be the expected one (`checkpoint.origin_mismatch`).
    """
    verified = open_note(note_text, keys)  # (1)
    checkpoint = Checkpoint.parse(verified.text)  # (2)
    if checkpoint.origin != origin:  # (3)
        raise CheckpointOriginMismatch("the checkpoint is for another log")
    return checkpoint, verified


def verify_checkpoint(
    note_text: str | bytes | Note, *, origin: str, log_verifier: NoteVerifier
) -> Checkpoint:
    """The checkpoint in `note_text`, once signed by `log_verifier` and for `origin`.

    Raises `note.*`, `checkpoint.malformed` or `checkpoint.origin_mismatch`.
    """
    checkpoint, _ = open_checkpoint(note_text, origin=origin, keys=[log_verifier])
    return checkpoint
