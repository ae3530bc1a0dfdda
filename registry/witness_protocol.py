"""C2SP tlog-witness `add-checkpoint`: the request body and the witness's decision.

    old <size>
    <consistency proof hash, base64>      (0 to 63 lines)
    <empty line>
    <signed checkpoint note>

`decide_add_checkpoint` is the whole rule set of the spec as a pure function
of the request, the configured logs and the witness's stored state; it
returns the checkpoint to cosign or raises. The HTTP adapter maps the error
families to the statuses the spec prescribes:

    400  MalformedInput   witness.request_malformed, note.malformed,
                          checkpoint.malformed, witness.old_size_invalid
    403  Forbidden        witness.log_signature_rejected
    404  NotFound         witness.unknown_log
    409  Conflict         witness.size_mismatch (body: `current_size` + "\\n",
                          Content-Type text/x.tlog.size)
    422  VerificationFailed  ledger.consistency_proof_invalid,
                          checkpoint.empty_root_invalid

The caller must compare the stored size again and store the new checkpoint
atomically with the cosignature (tlog-witness "add-checkpoint", the race of
steps 1-6), e.g. in one transaction with a conditional update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from did.encoding import b64_decode, b64_encode
from registry.checkpoint import Checkpoint
from registry.errors import (
    CheckpointEmptyRootInvalid,
    ConsistencyProofInvalid,
    NoteSignatureInvalid,
    NoteUnknownKey,
    WitnessLogSignatureRejected,
    WitnessOldSizeInvalid,
    WitnessRequestMalformed,
    WitnessSizeMismatch,
    WitnessUnknownLog,
)
from registry.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from registry.note import (
    MAX_NOTE_BYTES,
    Note,
    NoteSignature,
    NoteVerifier,
    open_note,
    parse_signature_lines,
)

# tlog-witness: "The client MUST NOT send more than 63 consistency proof lines."
MAX_PROOF_LINES: Final = 63
# Not in the spec: the longest old line, the proof lines and the largest note.
MAX_REQUEST_BYTES: Final = (
    len("old 18446744073709551615\n") + MAX_PROOF_LINES * 45 + 1 + (MAX_NOTE_BYTES)
)
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
_MAX_SIZE_DIGITS: Final = 20


def _parse_size(text: str) -> int:
    # ASCII decimal without leading zeroes (int() alone would take "0_1" or "٣").
    if (
        not 0 < len(text) <= _MAX_SIZE_DIGITS
        or not text.isascii()
        or not text.isdigit()
        or (text[0] == "0" and text != "0")
    ):
        raise WitnessRequestMalformed("a size is a decimal without leading zeroes")
    value = int(text)
    if value >= 2**64:
        raise WitnessRequestMalformed("a size is a uint64")
    return value


@dataclass(frozen=True, slots=True)
class AddCheckpointRequest:
    """An add-checkpoint body. `unverified_checkpoint` is the signed note, not yet checked."""

    old_size: int
    proof: tuple[bytes, ...]
    unverified_checkpoint: str

    def __post_init__(self) -> None:
        if isinstance(self.old_size, bool) or not 0 <= self.old_size < 2**64:
            raise WitnessRequestMalformed("the old size is a uint64")
        if len(self.proof) > MAX_PROOF_LINES:
            raise WitnessRequestMalformed("a consistency proof has at most 63 lines")
        if any(len(h) != HASH_SIZE for h in self.proof):
            raise WitnessRequestMalformed("each consistency proof line is one 32-byte hash")

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpointRequest:
        """Parse the request body; raise `WitnessRequestMalformed` (400)."""
        if len(body) > MAX_REQUEST_BYTES:
            raise WitnessRequestMalformed("the request body is too large")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WitnessRequestMalformed("the request body is not UTF-8") from exc
        old_line, sep, rest = text.partition("\n")
        if not sep or not old_line.startswith("old "):
            raise WitnessRequestMalformed("the body starts with an 'old <size>' line")
        old_size = _parse_size(old_line[len("old ") :])
        proof: list[bytes] = []
        while True:
            line, sep, rest = rest.partition("\n")
            if not sep:
                raise WitnessRequestMalformed("the proof lines end with an empty line")
            if not line:
                break
            if len(proof) == MAX_PROOF_LINES:
                raise WitnessRequestMalformed("a consistency proof has at most 63 lines")
            proof.append(b64_decode(line, what="a proof line", error=WitnessRequestMalformed))
        return cls(old_size, tuple(proof), rest)

    def to_bytes(self) -> bytes:
        lines = [f"old {self.old_size}", *(b64_encode(h) for h in self.proof), ""]
        return ("".join(line + "\n" for line in lines) + self.unverified_checkpoint).encode()


def decide_add_checkpoint(
    *,
    request: AddCheckpointRequest,
    known_logs: Mapping[str, NoteVerifier],
    state: tuple[int, bytes] | None,
) -> Checkpoint:
    """Decide an add-checkpoint request; return the checkpoint to cosign, or raise.

    `known_logs` maps each origin the witness serves to the log's key;
    `state` is the (size, root hash) the witness last cosigned for the
    request's origin, or None if it never did. Steps (tlog-witness
    "add-checkpoint"), each tagged below:

    1. The note must parse (400), and its origin must be a configured log (404).
    2. It must carry a valid signature from that log's key, and no failing one (403).
    3. The body must be a checkpoint (400).
    4. `old` must not exceed the checkpoint size (400).
    5. `old` must be the size last cosigned, or 0 if none (409 with that size).
    6. A size-0 checkpoint must have the empty-tree root (422).
    7. From old size 0 the proof must be empty; otherwise it must prove the
       stored tree consistent with the new one, and equal sizes need equal
       roots (422).
    """
    note = Note.parse(request.unverified_checkpoint)  # (1)
    # The origin is read before verification only to choose the key to verify with.
    origin = note.unverified_text.partition("\n")[0]
    log_key = known_logs.get(origin)
    if log_key is None:
        raise WitnessUnknownLog("this witness does not follow the checkpoint's log")
    try:  # (2)
        verified = open_note(note, [log_key])
    except (NoteSignatureInvalid, NoteUnknownKey) as exc:
        raise WitnessLogSignatureRejected(
            "the checkpoint is not validly signed by the log's key"
        ) from exc
    checkpoint = Checkpoint.parse(verified.text)  # (3)
    if request.old_size > checkpoint.size:  # (4)
        raise WitnessOldSizeInvalid("the old size is larger than the checkpoint size")
    stored_size, stored_root = state if state is not None else (0, EMPTY_ROOT)
    if request.old_size != stored_size:  # (5)
        raise WitnessSizeMismatch(
            "the old size is not the size this witness last cosigned", current_size=stored_size
        )
    if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:  # (6)
        raise CheckpointEmptyRootInvalid("a checkpoint of size 0 must have the empty-tree root")
    if stored_size == 0 and request.proof:  # (7)
        raise ConsistencyProofInvalid("a proof from the empty tree must be empty")
    verify_consistency(
        old_size=stored_size,
        new_size=checkpoint.size,
        old_root=stored_root,
        new_root=checkpoint.root_hash,
        proof=request.proof,
    )
    return checkpoint


def format_add_checkpoint_response(cosignatures: Sequence[NoteSignature]) -> str:
    """The 200 body: one or more note signature lines."""
    if not cosignatures:
        raise ValueError("a witness answers with at least one cosignature")
    return "".join(sig.to_line() for sig in cosignatures)


def parse_add_checkpoint_response(body: bytes) -> tuple[NoteSignature, ...]:
    """The signature lines of a witness's 200 reply (for the log's client side).

    Check them by appending them to the checkpoint note and verifying with the
    witness keys (`Note.with_signatures`, `registry.note.verify_signatures`).
    """
    if len(body) > MAX_NOTE_BYTES:
        raise WitnessRequestMalformed("the witness reply is too large")
    try:
        return parse_signature_lines(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise WitnessRequestMalformed("the witness reply is not UTF-8") from exc


def format_size_conflict(current_size: int) -> str:
    """The 409 body (`text/x.tlog.size`)."""
    return f"{current_size}\n"


def parse_size_conflict(body: bytes) -> int:
    """The size in a witness's 409 reply, so the log can retry with the right `old`."""
    text = body.decode("ascii", errors="replace")
    if not text.endswith("\n"):
        raise WitnessRequestMalformed("a size reply ends with a newline")
    return _parse_size(text[:-1])
