"""The verifier's own error leaves, under the families of `did.errors`.

OAuth's errors (`oauth.invalid_client`, `oauth.invalid_token`...) are
`service.oauth`'s, shared with the issuer; DCQL's (`dcql.*`) are
`openid4vc.errors`', shared with the wallet.

GovidError
├── MalformedInput
│   ├── TemplateUnknown              verifier.template_unknown
│   ├── VPTokenMalformed             vp_token.malformed
│   └── OfflinePresentationMalformed offline.malformed
├── VerificationFailed
│   ├── IssuerKeyCompromised         issuer_key.compromised
│   ├── IssuerKeyNotValidAtIssuance  issuer_key.not_valid_at_issuance
│   ├── IssuerKeyUnknown             issuer_key.unknown
│   ├── IssuerNotAccredited          accreditation.missing
│   ├── CredentialTypeNotAccepted    policy.vct_not_accepted
│   ├── StatusMissing                status.missing
│   ├── StatusListForeign            status_list.foreign
│   ├── LedgerEvidenceMismatch       ledger.evidence_mismatch
│   └── ResponseMismatch             vp_token.mismatch
├── NotFound
│   └── SessionNotFound              presentation_request.not_found
├── Conflict
│   └── SessionAlreadyUsed           presentation_request.used
└── Unavailable
    └── EvidenceUnavailable          ledger.evidence_unavailable
"""

from __future__ import annotations

from did.errors import (
    Conflict,
    MalformedInput,
    NotFound,
    Unavailable,
    VerificationFailed,
)


class TemplateUnknown(MalformedInput):
    code = "verifier.template_unknown"


class VPTokenMalformed(MalformedInput):
    code = "vp_token.malformed"


class OfflinePresentationMalformed(MalformedInput):
    code = "offline.malformed"


class IssuerKeyCompromised(VerificationFailed):
    """The signing key's fragment was marked compromised on the ledger (method spec §6.3)."""

    code = "issuer_key.compromised"


class IssuerKeyNotValidAtIssuance(VerificationFailed):
    """The key existed, but not at the credential's `iat` (method spec §6.4 step 3)."""

    code = "issuer_key.not_valid_at_issuance"


class IssuerKeyUnknown(VerificationFailed):
    code = "issuer_key.unknown"


class IssuerNotAccredited(VerificationFailed):
    code = "accreditation.missing"


class CredentialTypeNotAccepted(VerificationFailed):
    code = "policy.vct_not_accepted"


class StatusMissing(VerificationFailed):
    code = "status.missing"


class StatusListForeign(VerificationFailed):
    """The status list on the ledger was published by someone other than the issuer."""

    code = "status_list.foreign"


class LedgerEvidenceMismatch(VerificationFailed):
    """The proven ledger entries are not the ones the other checks relied on."""

    code = "ledger.evidence_mismatch"


class ResponseMismatch(VerificationFailed):
    code = "vp_token.mismatch"


class SessionNotFound(NotFound):
    code = "presentation_request.not_found"


class SessionAlreadyUsed(Conflict):
    code = "presentation_request.used"


class EvidenceUnavailable(Unavailable):
    """Ledger evidence could not be fetched and no copy fresh enough was cached."""

    code = "ledger.evidence_unavailable"
