"""The OpenID4VC leaves of the govid error tree (families in `did.errors`).

MalformedInput
└── QueryInvalid             dcql.query_invalid
VerificationFailed
├── ClaimsNotSatisfied       dcql.claims_not_satisfied
└── CredentialTypeMismatch   dcql.vct_mismatch
"""

from __future__ import annotations

from did.errors import MalformedInput, VerificationFailed

__all__ = ["ClaimsNotSatisfied", "CredentialTypeMismatch", "OfferInvalid", "QueryInvalid"]


class QueryInvalid(MalformedInput):
    """A DCQL query §6 does not allow, or this implementation does not support."""

    code = "dcql.query_invalid"


class OfferInvalid(MalformedInput):
    """A Credential Offer or offer link (OpenID4VCI 1.0 §4.1) that does not parse."""

    code = "oid4vci.offer_invalid"


class ClaimsNotSatisfied(VerificationFailed):
    code = "dcql.claims_not_satisfied"


class CredentialTypeMismatch(VerificationFailed):
    code = "dcql.vct_mismatch"
