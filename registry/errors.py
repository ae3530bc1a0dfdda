"""Errors of the registry: the transparency-log core first, ledger operations after.

Every class here is a leaf under a family of `did.errors`, so the one HTTP
error handler of the services maps it by family (MalformedInput 400,
VerificationFailed 422, NotFound 404, Conflict 409, Forbidden 403). The
families were chosen so that this mapping yields exactly the statuses that
C2SP tlog-witness prescribes for `add-checkpoint`.

    MalformedInput
    ├── ProofMalformed                 ledger.proof_malformed          e.g. a hash not 32 bytes
    ├── ProofRequestInvalid            ledger.proof_request_invalid    index >= size, old > new
    ├── NoteMalformed                  note.malformed                  signed-note syntax
    ├── NoteKeyMalformed               note.key_malformed              vkey / skey syntax
    ├── CheckpointMalformed            checkpoint.malformed            tlog-checkpoint body
    ├── WitnessRequestMalformed        witness.request_malformed       add-checkpoint body
    ├── WitnessOldSizeInvalid          witness.old_size_invalid        old > checkpoint size
    └── WitnessPolicyInvalid           witness.policy_invalid          bad quorum / witnesses
    VerificationFailed
    ├── InclusionProofInvalid          ledger.inclusion_proof_invalid
    ├── ConsistencyProofInvalid        ledger.consistency_proof_invalid
    ├── NoteSignatureInvalid           note.signature_invalid          a known key's sig fails
    ├── NoteUnknownKey                 note.unknown_key                no known key signed
    ├── CheckpointOriginMismatch       checkpoint.origin_mismatch
    ├── CheckpointRollback             checkpoint.rollback             new size < old size
    ├── CheckpointEmptyRootInvalid     checkpoint.empty_root_invalid   size 0, root != SHA-256("")
    ├── CosignatureInvalid             cosignature.invalid
    └── WitnessPolicyUnsatisfied       witness.policy_unsatisfied      too few valid cosignatures
    NotFound
    └── WitnessUnknownLog              witness.unknown_log             origin not configured (404)
    Conflict
    └── WitnessSizeMismatch            witness.size_mismatch           409, carries current_size
    Forbidden
    └── WitnessLogSignatureRejected    witness.log_signature_rejected  403 on add-checkpoint
"""

from __future__ import annotations

from did.errors import (
    Conflict,
    Forbidden,
    MalformedInput,
    NotFound,
    VerificationFailed,
)

# --- Merkle proofs (RFC 9162 §2.1) --------------------------------------------


class ProofMalformed(MalformedInput):
    """A proof is not well formed: e.g. a proof hash, root or leaf hash is not 32 bytes."""

    code = "ledger.proof_malformed"


class ProofRequestInvalid(MalformedInput):
    """A proof was asked for that cannot exist (leaf index past the size, old > new)."""

    code = "ledger.proof_request_invalid"


class InclusionProofInvalid(VerificationFailed):
    code = "ledger.inclusion_proof_invalid"


class ConsistencyProofInvalid(VerificationFailed):
    code = "ledger.consistency_proof_invalid"


# --- signed notes (C2SP signed-note) ------------------------------------------


class NoteMalformed(MalformedInput):
    code = "note.malformed"


class NoteKeyMalformed(MalformedInput):
    """A verifier key (vkey) or signer key (skey) string could not be parsed."""

    code = "note.key_malformed"


class NoteSignatureInvalid(VerificationFailed):
    """A signature line names a known key (name and key ID) but does not verify."""

    code = "note.signature_invalid"


class NoteUnknownKey(VerificationFailed):
    """No signature in the note is from a key the verifier was configured with."""

    code = "note.unknown_key"


# --- checkpoints (C2SP tlog-checkpoint) ---------------------------------------


class CheckpointMalformed(MalformedInput):
    code = "checkpoint.malformed"


class CheckpointOriginMismatch(VerificationFailed):
    code = "checkpoint.origin_mismatch"


class CheckpointRollback(VerificationFailed):
    """A checkpoint is smaller than one already trusted for the same log."""

    code = "checkpoint.rollback"


class CheckpointEmptyRootInvalid(VerificationFailed):
    """A checkpoint of size 0 whose root is not the empty-tree hash (tlog-witness)."""

    code = "checkpoint.empty_root_invalid"


# --- cosignatures and witnesses (C2SP tlog-cosignature, tlog-witness) ---------


class CosignatureInvalid(VerificationFailed):
    code = "cosignature.invalid"


class WitnessPolicyInvalid(MalformedInput):
    """A witness policy that can never be met, or that counts one witness twice."""

    code = "witness.policy_invalid"


class WitnessPolicyUnsatisfied(VerificationFailed):
    code = "witness.policy_unsatisfied"


class WitnessRequestMalformed(MalformedInput):
    code = "witness.request_malformed"


class WitnessOldSizeInvalid(MalformedInput):
    """The `old` size of an add-checkpoint request exceeds the checkpoint's size (400)."""

    code = "witness.old_size_invalid"


class WitnessUnknownLog(NotFound):
    """The witness is not configured for the checkpoint's origin (404)."""

    code = "witness.unknown_log"


class WitnessLogSignatureRejected(Forbidden):
    """No trusted log signature verified, or a trusted key's signature failed (403)."""

    code = "witness.log_signature_rejected"


class WitnessSizeMismatch(Conflict):
    """`old` is not the size the witness last cosigned (409).

    `current_size` is what the HTTP adapter answers with, as `text/x.tlog.size`.
    """

    code = "witness.size_mismatch"

    def __init__(self, message: str, *, current_size: int) -> None:
        super().__init__(message)
        self.current_size = current_size


# --- ledger operations --------------------------------------------------------
# (appended by the ledger-operation modules)
