"""The issuer's leaves of the govid error tree (families in `did.errors`).

    MalformedInput
    ├── CredentialRequestInvalid   oid4vci.credential_request_invalid
    │   ├── UnknownCredentialConfiguration  oid4vci.unknown_credential_configuration
    │   └── UnknownCredentialIdentifier     oid4vci.unknown_credential_identifier
    ├── ImportFileInvalid          issuer.import_file_invalid
    ├── ImportRowInvalid           issuer.import_row_invalid
    └── KEKInvalid                 issuer.kek_invalid
    VerificationFailed
    ├── ClaimsInvalid              issuer.claims_invalid      (carries the failing `path`)
    ├── InvalidGrant               oauth.invalid_grant   (service.oauth)
    │   ├── OfferExpired           oid4vci.offer_expired
    │   ├── TxCodeInvalid          oid4vci.tx_code_invalid
    │   └── TxCodeLocked           oid4vci.tx_code_locked
    ├── ProofInvalid               oid4vci.proof_invalid
    ├── NonceInvalid               oid4vci.nonce_invalid
    ├── CredentialRequestDenied    oid4vci.credential_request_denied
    ├── SealedDataInvalid          issuer.sealed_data_invalid
    └── StatusTransitionInvalid    issuer.status_transition_invalid
    NotFound
    ├── CredentialTypeUnknown      issuer.credential_type_unknown
    ├── AgencyNotFound             issuer.agency_not_found
    ├── OfferNotFound              issuer.offer_not_found
    ├── CredentialNotFound         issuer.credential_not_found
    └── StatusListNotFound         issuer.status_list_not_found
    Conflict
    └── AgencyExists               issuer.agency_exists
    Forbidden
    └── NotAccredited              issuer.not_accredited
    Unavailable
    └── StatusListFull             issuer.status_list_full

The OAuth errors (`oauth.*`: invalid_request, invalid_client, invalid_grant,
invalid_scope, invalid_token, insufficient_scope, client_locked...) are `service.oauth`'s,
shared with the verifier. Which OpenID4VCI error code each issuer error is
answered with is decided in one place, `issuer/api/errors.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from did.errors import (
    Conflict,
    Forbidden,
    MalformedInput,
    NotFound,
    Unavailable,
    VerificationFailed,
)
from service.oauth import InvalidGrant

__all__ = [
    "AgencyExists",
    "AgencyNotFound",
    "ClaimsInvalid",
    "CredentialNotFound",
    "CredentialRequestDenied",
    "CredentialRequestInvalid",
    "CredentialTypeUnknown",
    "ImportFileInvalid",
    "ImportRowInvalid",
    "KEKInvalid",
    "NonceInvalid",
    "NotAccredited",
    "OfferExpired",
    "OfferNotFound",
    "ProofInvalid",
    "SealedDataInvalid",
    "StatusListFull",
    "StatusListNotFound",
    "StatusTransitionInvalid",
    "TxCodeInvalid",
    "TxCodeLocked",
    "UnknownCredentialConfiguration",
    "UnknownCredentialIdentifier",
]


class CredentialRequestInvalid(MalformedInput):
    code = "oid4vci.credential_request_invalid"


class ImportFileInvalid(MalformedInput):
    code = "issuer.import_file_invalid"


class ImportRowInvalid(MalformedInput):
    code = "issuer.import_row_invalid"


class KEKInvalid(MalformedInput):
    """The key-encryption key from the environment is missing or not 32 base64url bytes."""

    code = "issuer.kek_invalid"


class ClaimsInvalid(VerificationFailed):
    """A claim set does not match its credential type's JSON Schema.

    `path` names the failing claim (JSON Schema instance path); the message
    names the rule, never the value (it is personal data).
    """

    code = "issuer.claims_invalid"

    def __init__(self, message: str, *, path: Sequence[str | int] = ()) -> None:
        super().__init__(message)
        self.path: tuple[str | int, ...] = tuple(path)


class OfferExpired(InvalidGrant):
    code = "oid4vci.offer_expired"


class TxCodeInvalid(InvalidGrant):
    code = "oid4vci.tx_code_invalid"


class TxCodeLocked(InvalidGrant):
    """Too many wrong transaction codes: the pre-authorized code is burnt."""

    code = "oid4vci.tx_code_locked"


class ProofInvalid(VerificationFailed):
    code = "oid4vci.proof_invalid"


class NonceInvalid(VerificationFailed):
    code = "oid4vci.nonce_invalid"


class CredentialRequestDenied(VerificationFailed):
    code = "oid4vci.credential_request_denied"


class SealedDataInvalid(VerificationFailed):
    """A sealed blob does not open under the configured key-encryption key."""

    code = "issuer.sealed_data_invalid"


class StatusTransitionInvalid(VerificationFailed):
    """E.g. reinstating a revoked credential: revocation is final (Token Status List §7.1)."""

    code = "issuer.status_transition_invalid"


class CredentialTypeUnknown(NotFound):
    code = "issuer.credential_type_unknown"


class AgencyNotFound(NotFound):
    code = "issuer.agency_not_found"


class OfferNotFound(NotFound):
    code = "issuer.offer_not_found"


class CredentialNotFound(NotFound):
    code = "issuer.credential_not_found"


class StatusListNotFound(NotFound):
    code = "issuer.status_list_not_found"


class AgencyExists(Conflict):
    code = "issuer.agency_exists"


class NotAccredited(Forbidden):
    """The agency holds no active ledger accreditation for this credential type."""

    code = "issuer.not_accredited"


class StatusListFull(Unavailable):
    code = "issuer.status_list_full"


class UnknownCredentialConfiguration(CredentialRequestInvalid):
    code = "oid4vci.unknown_credential_configuration"


class UnknownCredentialIdentifier(CredentialRequestInvalid):
    code = "oid4vci.unknown_credential_identifier"
