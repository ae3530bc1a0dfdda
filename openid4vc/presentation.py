"""OpenID4VP 1.0 names both sides use: request object, client identifier, response mode.

Section numbers are OpenID for Verifiable Presentations 1.0's.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AUTHORIZATION_REQUEST_SCHEMES",
    "CLIENT_ID_PREFIX",
    "REQUEST_OBJECT_MEDIA_TYPE",
    "REQUEST_OBJECT_TYP",
    "RESPONSE_MODE",
    "RESPONSE_TYPE",
    "SELF_ISSUED_AUD",
]

REQUEST_OBJECT_TYP: Final = "oauth-authz-req+jwt"  # RFC 9101 §10.8, §5
REQUEST_OBJECT_MEDIA_TYPE: Final = "application/oauth-authz-req+jwt"  # RFC 9101 §10.2
CLIENT_ID_PREFIX: Final = "decentralized_identifier:"  # §5.9.3
SELF_ISSUED_AUD: Final = "https://self-issued.me/v2"  # §5.8: static discovery `aud`
RESPONSE_TYPE: Final = "vp_token"  # §5.6
RESPONSE_MODE: Final = "direct_post"  # §8.2
# §5.10 and HAIP: the custom schemes a wallet is invoked with (`openid4vp://` first).
AUTHORIZATION_REQUEST_SCHEMES: Final = ("openid4vp", "haip-vp", "eudi-openid4vp")
