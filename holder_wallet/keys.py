"""Holder keys: a fresh key for every credential copy, never reused.

One key per copy means two presentations of two copies share no key, and no
two issuers ever see the same key (issue 6 item 1). P-256 (`ES256`) is the
default: it is what most verifiers accept for Key Binding JWTs; Ed25519
(`EdDSA`) is available. The public key goes in `cnf.jwk` (SD-JWT VC §2.4);
`did:jwk` names the same key where a DID is wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from did.keys import (
    PrivateKey,
    generate_private_key,
    jwk_from_private_key,
    jwk_from_public_key,
    jwk_thumbprint,
    private_key_from_jwk,
    public_key_of,
)
from did.methods.jwk import did_jwk_from_jwk

__all__ = [
    "DEFAULT_HOLDER_ALG",
    "HOLDER_ALGS",
    "holder_did",
    "holder_key_from_secret",
    "new_holder_key",
    "public_jwk_of",
    "secret_jwk",
    "thumbprint_of",
]

DEFAULT_HOLDER_ALG: Final = "ES256"
HOLDER_ALGS: Final = ("ES256", "EdDSA")


def new_holder_key(alg: str = DEFAULT_HOLDER_ALG) -> PrivateKey:
    """A new key for exactly one credential copy."""
    if alg not in HOLDER_ALGS:
        raise ValueError("holder keys are ES256 or EdDSA")
    return generate_private_key(alg)


def public_jwk_of(key: PrivateKey) -> dict[str, str]:
    return jwk_from_public_key(public_key_of(key))


def thumbprint_of(jwk: Mapping[str, object]) -> str:
    """RFC 7638 thumbprint of the public members of `jwk` (private ones are ignored)."""
    return jwk_thumbprint({k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")})


def holder_did(key: PrivateKey) -> str:
    """The key as a `did:jwk`."""
    return did_jwk_from_jwk(public_jwk_of(key))


def holder_key_from_secret(jwk: Mapping[str, object]) -> PrivateKey:
    return private_key_from_jwk(jwk)


def secret_jwk(key: PrivateKey) -> dict[str, str]:
    return jwk_from_private_key(key)
