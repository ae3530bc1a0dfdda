"""The wallet's leaves of the govid error tree (`did.errors` holds the families).

    GovidError
    ├── MalformedInput
    │   ├── OfferInvalid                 wallet.offer_invalid
    │   ├── PresentationRequestInvalid   wallet.request_invalid
    │   ├── ChallengeInvalid             wallet.challenge_invalid
    │   └── BackupInvalid                wallet.backup_invalid
    ├── VerificationFailed
    │   ├── CredentialRejected           wallet.credential_rejected
    │   ├── IssuerMetadataMismatch       wallet.issuer_metadata_mismatch
    │   ├── IssuerNotAccredited          wallet.issuer_not_accredited
    │   ├── HolderBindingMismatch        wallet.cnf_mismatch
    │   ├── RequestNotVerified           wallet.request_unverified
    │   ├── VerifierNotAccredited        wallet.verifier_not_accredited
    │   └── RemoteRefused                wallet.remote_refused
    ├── NotFound
    │   ├── WalletNotInitialised         wallet.not_initialised
    │   ├── CredentialNotFound           wallet.credential_not_found
    │   └── NoMatchingCredential         wallet.no_matching_credential
    ├── Conflict
    │   └── WalletExists                 wallet.exists
    ├── Forbidden
    │   ├── WalletLocked                 wallet.locked
    │   ├── UnlockThrottled              wallet.unlock_throttled
    │   ├── HostRefused                  wallet.host_refused
    │   └── OriginRefused                wallet.origin_refused
    ├── Unauthorized
    │   └── PassphraseWrong              wallet.passphrase_invalid
    └── Unsupported
        ├── ProtocolUnsupported          wallet.protocol_unsupported
        └── QRTooLarge                   wallet.qr_too_large

Messages are shown to the citizen: plain sentences, never the input echoed back.
"""

from __future__ import annotations

from did.errors import (
    Conflict,
    Forbidden,
    MalformedInput,
    NotFound,
    Unauthorized,
    Unsupported,
    VerificationFailed,
)

__all__ = [
    "BackupInvalid",
    "ChallengeInvalid",
    "CredentialNotFound",
    "CredentialRejected",
    "HolderBindingMismatch",
    "HostRefused",
    "IssuerMetadataMismatch",
    "IssuerNotAccredited",
    "NoMatchingCredential",
    "OfferInvalid",
    "OriginRefused",
    "PassphraseWrong",
    "PresentationRequestInvalid",
    "ProtocolUnsupported",
    "QRTooLarge",
    "RemoteRefused",
    "RequestNotVerified",
    "UnlockThrottled",
    "VerifierNotAccredited",
    "WalletExists",
    "WalletLocked",
    "WalletNotInitialised",
]


class OfferInvalid(MalformedInput):
    """A credential offer (or the issuer's metadata it leads to) does not parse."""

    code = "wallet.offer_invalid"


class PresentationRequestInvalid(MalformedInput):
    """An OpenID4VP authorization request or request object does not parse."""

    code = "wallet.request_invalid"


class ChallengeInvalid(MalformedInput):
    code = "wallet.challenge_invalid"


class BackupInvalid(MalformedInput):
    code = "wallet.backup_invalid"


class CredentialRejected(VerificationFailed):
    """A received credential failed a check; the underlying code is in the message."""

    code = "wallet.credential_rejected"


class IssuerMetadataMismatch(VerificationFailed):
    """The issuer's metadata does not match its DID or what it issued."""

    code = "wallet.issuer_metadata_mismatch"


class IssuerNotAccredited(VerificationFailed):
    code = "wallet.issuer_not_accredited"


class HolderBindingMismatch(VerificationFailed):
    """A credential is not bound (`cnf`) to a key this wallet made for it."""

    code = "wallet.cnf_mismatch"


class RequestNotVerified(VerificationFailed):
    """A presentation request is unsigned, or its signature is not the verifier DID's."""

    code = "wallet.request_unverified"


class VerifierNotAccredited(VerificationFailed):
    """The verifier is not accredited on the ledger for what it asks."""

    code = "wallet.verifier_not_accredited"


class RemoteRefused(VerificationFailed):
    """An issuer or verifier answered with a protocol error; its code is in the message."""

    code = "wallet.remote_refused"

    def __init__(self, message: str, *, remote_error: str | None = None) -> None:
        super().__init__(message)
        self.remote_error = remote_error


class WalletNotInitialised(NotFound):
    code = "wallet.not_initialised"


class CredentialNotFound(NotFound):
    code = "wallet.credential_not_found"


class NoMatchingCredential(NotFound):
    code = "wallet.no_matching_credential"


class WalletExists(Conflict):
    code = "wallet.exists"


class WalletLocked(Forbidden):
    code = "wallet.locked"


class UnlockThrottled(Forbidden):
    """Too many wrong passphrases, or another unlock is being checked: try later (HTTP 429)."""

    code = "wallet.unlock_throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HostRefused(Forbidden):
    """The request names a host other than the wallet's own loopback address (DNS rebinding)."""

    code = "wallet.host_refused"


class OriginRefused(Forbidden):
    """A request from another site's page, or a state-changing one that does not say its origin."""

    code = "wallet.origin_refused"


class PassphraseWrong(Unauthorized):
    code = "wallet.passphrase_invalid"


class ProtocolUnsupported(Unsupported):
    code = "wallet.protocol_unsupported"


class QRTooLarge(Unsupported):
    code = "wallet.qr_too_large"
