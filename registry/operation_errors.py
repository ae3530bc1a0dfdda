"""Errors of ledger operations and their rules (leaves of the tree in `did.errors`).

MalformedInput
├── MalformedOperation            ledger.operation_malformed
└── StatusListIssuerRequired      ledger.status_list_issuer_required  (a list needs its issuer)
VerificationFailed
├── OperationSignatureInvalid     ledger.operation_signature_invalid
├── OperationNotAuthorized        ledger.operation_not_authorized
├── CommitmentMismatch            ledger.commitment_mismatch
├── AccreditationRequired         ledger.accreditation_required
├── StatusListTokenRejected       ledger.status_list_token_rejected
└── EntryInvalid                  ledger.entry_invalid
NotFound
├── UnknownDID                    ledger.did_unknown
├── UnknownAccreditation          ledger.accreditation_unknown
└── UnknownStatusList             ledger.status_list_unknown
Conflict
├── PrevMismatch                  ledger.prev_mismatch        (409: another op won)
├── DuplicateOperation            ledger.operation_duplicate
├── DIDIsDeactivated              ledger.did_deactivated
└── SequenceConflict              ledger.status_list_sequence
Unauthorized
└── WriterTokenInvalid            ledger.writer_token_invalid (401: an unknown writer token)
Unavailable
├── StorageUnavailable            ledger.storage_unavailable  (503)
└── WriteQuotaExceeded            ledger.write_quota_exceeded (answered 429, registry.write_quota)
"""

from __future__ import annotations

from did.errors import (
    Conflict,
    MalformedInput,
    NotFound,
    Unauthorized,
    Unavailable,
    VerificationFailed,
)


class MalformedOperation(MalformedInput):
    code = "ledger.operation_malformed"


class StatusListIssuerRequired(MalformedInput):
    """A status list was asked for by `uri` alone; lists are named by (issuer, uri) (§5.7)."""

    code = "ledger.status_list_issuer_required"


class OperationSignatureInvalid(VerificationFailed):
    code = "ledger.operation_signature_invalid"


class OperationNotAuthorized(VerificationFailed):
    """The operation is signed, but not by a key the rules allow for it."""

    code = "ledger.operation_not_authorized"


class CommitmentMismatch(VerificationFailed):
    """Revealed keys do not match the DID's pre-rotation commitment."""

    code = "ledger.commitment_mismatch"


class CompromisedKeyReused(VerificationFailed):
    """A key once marked compromised is refused in any later document."""

    code = "ledger.key_compromised"


class AccreditationRequired(VerificationFailed):
    code = "ledger.accreditation_required"


class StatusListTokenRejected(VerificationFailed):
    code = "ledger.status_list_token_rejected"


class EntryInvalid(VerificationFailed):
    """A log entry (as opposed to an operation) breaks the log's own rules."""

    code = "ledger.entry_invalid"


class UnknownDID(NotFound):
    code = "ledger.did_unknown"


class UnknownVerificationMethod(NotFound):
    code = "ledger.verification_method_unknown"


class UnknownAccreditation(NotFound):
    code = "ledger.accreditation_unknown"


class UnknownStatusList(NotFound):
    code = "ledger.status_list_unknown"


class PrevMismatch(Conflict):
    """Another operation already follows `prev`: exactly one may (409)."""

    code = "ledger.prev_mismatch"


class DuplicateOperation(Conflict):
    code = "ledger.operation_duplicate"


class DIDIsDeactivated(Conflict):
    code = "ledger.did_deactivated"


class SequenceConflict(Conflict):
    code = "ledger.status_list_sequence"


class StorageUnavailable(Unavailable):
    code = "ledger.storage_unavailable"


class WriterTokenInvalid(Unauthorized):
    """`Authorization` on a write names no writer this registry knows (method spec §10.1)."""

    code = "ledger.writer_token_invalid"
