"""OpenID4VCI 1.0 names both sides use: the offer scheme, the grant, the proof type.

Section numbers are OpenID for Verifiable Credential Issuance 1.0's.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AUTHORIZATION_DETAILS_TYPE",
    "ISSUER_METADATA_SUFFIX",
    "OFFER_SCHEME",
    "PRE_AUTHORIZED_GRANT",
    "PROOF_TYP",
    "SD_JWT_VC_FORMAT",
    "is_offer_scheme",
]

# §4.1: "openid-credential-offer://" is the custom scheme of an offer link; the
# wallet also takes an https link carrying the same parameters.
OFFER_SCHEME: Final = "openid-credential-offer://"
PRE_AUTHORIZED_GRANT: Final = "urn:ietf:params:oauth:grant-type:pre-authorized_code"  # §3.5
PROOF_TYP: Final = "openid4vci-proof+jwt"  # Appendix F.1
AUTHORIZATION_DETAILS_TYPE: Final = "openid_credential"  # §5.1.1
ISSUER_METADATA_SUFFIX: Final = "openid-credential-issuer"  # §12.2.2
SD_JWT_VC_FORMAT: Final = "dc+sd-jwt"  # Appendix A.3


def is_offer_scheme(scheme: str) -> bool:
    """True for the scheme part (`urlsplit(...).scheme`) of `OFFER_SCHEME`."""
    return scheme + "://" == OFFER_SCHEME
