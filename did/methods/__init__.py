"""DID methods govid resolves itself: did:key, did:jwk and did:web.

Each module holds the pure create/expand functions of its method and one
`MethodResolver` class to register with `did.resolver.Resolver`. did:govid
lives with the ledger (`registry/`) and registers the same way.
"""

from __future__ import annotations

from did.methods.jwk import DIDJWKResolver, did_jwk_from_jwk, jwk_from_did_jwk
from did.methods.key import DIDKeyResolver, did_key_from_public_key, public_key_from_did_key
from did.methods.web import DIDWebResolver, did_web_url

__all__ = [
    "DIDJWKResolver",
    "DIDKeyResolver",
    "DIDWebResolver",
    "did_jwk_from_jwk",
    "did_key_from_public_key",
    "did_web_url",
    "jwk_from_did_jwk",
    "public_key_from_did_key",
]
