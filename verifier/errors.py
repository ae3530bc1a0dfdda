"""The verifier's own error leaves, under the families of `did.errors`.

OAuth's errors (`oauth.invalid_client`, `oauth.invalid_token`...) are
`service.oauth`'s, shared with the issuer; DCQL's (`dcql.*`) are
`openid4vc.errors`', shared with the wallet.

GovidError
├── MalformedInput
│   ├── TemplateUnknown              verifier.template_unknown
│   ├── VPTokenMalformed             vp_token.malformed
│   ├── OfflinePresentationMalformed offline.malformed
│   └── CounterUserInvalid           counter_user.invalid
├── VerificationFailed
│   ├── IssuerKeyCompromised         issuer_key.compromised
│   ├── IssuerKeyNotValidAtIssuance  issuer_key.not_valid_at_issuance
│   ├── IssuerKeyUnknown             issuer_key.unknown
│   ├── IssuerNotAccredited          accreditation.missing
│   ├── AccreditationRevoked         accreditation.revoked
│   ├── AccreditationGrantKeyCompromised accreditation.grant_key_compromised
│   ├── CredentialTypeNotAccepted    policy.vct_not_accepted
│   ├── StatusMissing                status.missing
│   ├── StatusListForeign            status_list.foreign
│   ├── StatusListTypeNotCovered     status_list.type_not_covered
│   ├── LedgerEvidenceMismatch       ledger.evidence_mismatch
│   └── ResponseMismatch             vp_token.mismatch
├── NotFound
│   ├── SessionNotFound              presentation_request.not_found
│   └── CounterUserNotFound          counter_user.not_found
├── Conflict
│   ├── SessionAlreadyUsed           presentation_request.used
│   ├── SessionKindMismatch          presentation_request.kind_mismatch
│   ├── RequestURIUsed               request_uri.used
│   └── CounterUserExists            counter_user.exists
├── Forbidden
│   └── CounterLoginThrottled        counter_login.throttled
├── Unauthorized
│   └── CounterLoginFailed           counter_login.failed
└── Unavailable
    └── EvidenceUnavailable          ledger.evidence_unavailable
"""

from __future__ import annotations

from did.errors import (
    Conflict,
    Forbidden,
    MalformedInput,
    NotFound,
    Unauthorized,
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


class AccreditationRevoked(IssuerNotAccredited):
    """The only accreditation for the type was revoked: none counts, whatever `iat` says.

    Method spec §6.4 step 4: the issuer chooses `iat`, so a revoked
    accreditation vouches for no credential, as a compromised key signs none.
    """

    code = "accreditation.revoked"


class AccreditationGrantKeyCompromised(IssuerNotAccredited):
    """The accreditation was granted with a key its accreditor later marked compromised (§5.5.3)."""

    code = "accreditation.grant_key_compromised"


class CredentialTypeNotAccepted(VerificationFailed):
    code = "policy.vct_not_accepted"


class StatusMissing(VerificationFailed):
    code = "status.missing"


class StatusListForeign(VerificationFailed):
    """The status list on the ledger was published by someone other than the issuer."""

    code = "status_list.foreign"


class StatusListTypeNotCovered(VerificationFailed):
    """The issuer's list does not declare the credential's type (method spec §5.7)."""

    code = "status_list.type_not_covered"


class LedgerEvidenceMismatch(VerificationFailed):
    """The proven ledger entries are not the ones the other checks relied on."""

    code = "ledger.evidence_mismatch"


class ResponseMismatch(VerificationFailed):
    code = "vp_token.mismatch"


class SessionNotFound(NotFound):
    code = "presentation_request.not_found"


class SessionAlreadyUsed(Conflict):
    code = "presentation_request.used"


class SessionKindMismatch(Conflict):
    """An offline QR sent to an OpenID4VP request, or a wallet response to an offline one."""

    code = "presentation_request.kind_mismatch"


class RequestURIUsed(Conflict):
    """The one-time `request_uri` was fetched already (by the citizen's wallet, or by
    someone who saw the QR first): the counter starts a new request."""

    code = "request_uri.used"


class CounterUserInvalid(MalformedInput):
    """A counter account's name or password does not meet the rules."""

    code = "counter_user.invalid"


class CounterUserExists(Conflict):
    code = "counter_user.exists"


class CounterUserNotFound(NotFound):
    code = "counter_user.not_found"


class CounterLoginFailed(Unauthorized):
    """Wrong name or password, or a disabled account: the sentence does not say which."""

    code = "counter_login.failed"


class CounterLoginThrottled(Forbidden):
    """Too many failed sign-ins for this account; `retry_after` says when to try again."""

    code = "counter_login.throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EvidenceUnavailable(Unavailable):
    """Ledger evidence could not be fetched and no copy fresh enough was cached."""

    code = "ledger.evidence_unavailable"
