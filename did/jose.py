"""Strict compact JWS (RFC 7515) and JWT (RFC 7519) for the algorithms govid trusts.

Only asymmetric signatures with an explicit allow-list: `EdDSA` / `Ed25519`
(RFC 8037, RFC 9864) with Ed25519 keys and `ES256` (RFC 7518 §3.4) with P-256
keys by default; `ES384`, `ES512` and `ES256K` (RFC 8812) only when the caller
lists them in `algs`. `none` and the HMAC family are never accepted, whatever the
caller asks for: a verifier holding a public key must not be tricked into
using it as an HMAC secret (RFC 8725 §2.1, §3.1).

The verification key always comes from the caller. Header members that bring
their own key (`jwk`, `jku`, `x5u`, `x5c`) are refused unless the caller opts
in by name, as the OpenID4VCI proof JWT does (it then takes the key out of
`parse_unverified_jws(...).header` itself and checks it separately).

The crypto is done with `cryptography` directly (and PyNaCl/libsodium for
Ed25519 signing and verification, 1.6-2x faster); `jwcrypto` is the
cross-check in tests.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from did.encoding import b64url_decode, b64url_encode, json_dumps_compact, json_loads_strict
from did.errors import (
    AlgorithmNotAllowed,
    CriticalHeaderUnsupported,
    HeaderKeyRejected,
    MalformedInput,
    MalformedJOSE,
    SignatureInvalid,
    TypeMismatch,
)
from did.keys import PrivateKey, PublicKey, default_alg

__all__ = [
    "DEFAULT_ALGS",
    "HEADER_KEY_MEMBERS",
    "MAX_JWS_LENGTH",
    "UnverifiedJWS",
    "VerifiedJWS",
    "normalise_typ",
    "parse_unverified_jws",
    "sign_jws",
    "sign_jwt",
    "verify_jws",
    "verify_jwt",
]

DEFAULT_ALGS: Final[frozenset[str]] = frozenset({"EdDSA", "Ed25519", "ES256"})

# Header parameters that carry or point to a key (RFC 7515 §4.1.3-4.1.6).
HEADER_KEY_MEMBERS: Final[frozenset[str]] = frozenset({"jwk", "jku", "x5u", "x5c"})

# Not in a spec: a bound so that a hostile request cannot make us decode megabytes.
MAX_JWS_LENGTH: Final = 1 << 20

# Header parameter names registered by RFC 7515 §4.1 and RFC 7518 §4.1; RFC 7515
# §4.1.11 forbids listing them in `crit`.
_REGISTERED_HEADER_NAMES: Final = frozenset(
    {
        "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
        "enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Alg:
    crv: str  # the JWK curve of the key this algorithm must be used with
    hash: type[hashes.HashAlgorithm] | None  # None for Ed25519
    size: int  # bytes of r and of s for ECDSA


# RFC 7518 §3.1 / RFC 8037 §3.1 / RFC 8812 §3.2 / RFC 9864 §2.2.
_ALGS: Final[dict[str, _Alg]] = {
    "EdDSA": _Alg("Ed25519", None, 0),
    "Ed25519": _Alg("Ed25519", None, 0),
    "ES256": _Alg("P-256", hashes.SHA256, 32),
    "ES384": _Alg("P-384", hashes.SHA384, 48),
    "ES512": _Alg("P-521", hashes.SHA512, 66),
    "ES256K": _Alg("secp256k1", hashes.SHA256, 32),
}
# ECDSA signature algorithm objects are immutable: build each once, not per call.
_ECDSA: Final[dict[type[hashes.HashAlgorithm], ec.ECDSA]] = {
    spec.hash: ec.ECDSA(spec.hash()) for spec in _ALGS.values() if spec.hash is not None
}
_EC_CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}


# --- parsing --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnverifiedJWS:
    """A compact JWS split and decoded, with NOTHING checked but its syntax.

    Build it with `parse_unverified_jws`; only `verify_jws` turns it into data
    that can be trusted.
    """

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class VerifiedJWS:
    """A JWS whose signature, algorithm, `typ` and `crit` were checked."""

    header: dict[str, Any]
    payload: bytes

    def claims(self) -> dict[str, Any]:
        """The payload as a JSON object (a JWT Claims Set); raises `MalformedJOSE`."""
        return _claims_of(self.payload)


def _claims_of(payload: bytes) -> dict[str, Any]:
    claims = json_loads_strict(payload, what="JWT payload", error=MalformedJOSE)
    if not isinstance(claims, dict):
        raise MalformedJOSE("JWT payload is not a JSON object")
    return claims


def parse_unverified_jws(token: str) -> UnverifiedJWS:
    """Split a compact JWS (RFC 7515 §7.1) strictly; raises `MalformedJOSE`.

    Three unpadded base64url parts; the header is a JSON object without
    duplicate names whose `alg` is a string. Nothing is verified.
    """
    if not isinstance(token, str):
        raise MalformedJOSE("a compact JWS is a string")
    if len(token) > MAX_JWS_LENGTH:
        raise MalformedJOSE("the JWS is too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedJOSE("a compact JWS has exactly three dot-separated parts")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header_raw = b64url_decode(header_b64, what="JWS header")
        payload = b64url_decode(payload_b64, what="JWS payload")
        signature = b64url_decode(signature_b64, what="JWS signature")
    except MalformedInput as exc:
        raise MalformedJOSE(exc.message) from exc
    header = json_loads_strict(header_raw, what="JWS header", error=MalformedJOSE)
    if not isinstance(header, dict):
        raise MalformedJOSE("JWS header is not a JSON object")
    if not isinstance(header.get("alg"), str):
        raise MalformedJOSE("JWS header has no 'alg' string")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return UnverifiedJWS(header, payload, signing_input, signature)


# --- signing --------------------------------------------------------------------


def _check_alg_for_key(alg: str, key: PublicKey | PrivateKey) -> _Alg:
    spec = _ALGS.get(alg)
    if spec is None:
        raise AlgorithmNotAllowed("the JWS algorithm is not supported")
    if spec.hash is None:
        ok = isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey)
    else:
        ok = isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and isinstance(
            key.curve, _EC_CURVES[spec.crv]
        )
    if not ok:
        # RFC 8725 §3.1: the algorithm is bound to the key type, never picked by the token.
        raise AlgorithmNotAllowed("the JWS algorithm does not match the key type")
    return spec


# libsodium's secret key (seed || public key) by private key object, so that
# Ed25519 signing runs in libsodium (about 1.6x faster than `cryptography` here).
# Ed25519 signatures are deterministic (RFC 8032 §5.1.6): both libraries give
# the same bytes. Entries are checked by identity as in `_ED25519_RAW` below;
# the cache is small and bounded, and holds nothing the key object does not.
_ED25519_SODIUM_SK: dict[int, tuple[ed25519.Ed25519PrivateKey, bytes]] = {}
_ED25519_SODIUM_SK_MAX: Final = 64


def _sodium_secret(key: ed25519.Ed25519PrivateKey) -> bytes:
    entry = _ED25519_SODIUM_SK.get(id(key))
    if entry is not None and entry[0] is key:
        return entry[1]
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    _, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
    if len(_ED25519_SODIUM_SK) >= _ED25519_SODIUM_SK_MAX:
        _ED25519_SODIUM_SK.clear()
    _ED25519_SODIUM_SK[id(key)] = (key, secret)
    return secret


def _sign(signing_input: bytes, key: PrivateKey, spec: _Alg) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        # Combined mode returns signature || message; the signature is 64 bytes.
        signed: bytes = nacl.bindings.crypto_sign(signing_input, _sodium_secret(key))
        return signed[:64]
    assert spec.hash is not None
    der = key.sign(signing_input, _ECDSA[spec.hash])
    r, s = decode_dss_signature(der)
    # RFC 7518 §3.4: the JWS signature is R || S, each left-padded to the curve size.
    return r.to_bytes(spec.size, "big") + s.to_bytes(spec.size, "big")


def sign_jws(
    payload: bytes,
    key: PrivateKey,
    *,
    typ: str | None,
    kid: str | None = None,
    alg: str | None = None,
    extra_header: Mapping[str, Any] | None = None,
) -> str:
    """Sign `payload` as a compact JWS; `alg` defaults to `did.keys.default_alg(key)`.

    `extra_header` adds members (it may not set `alg`, `typ` or `kid`, which
    have their own arguments). Raises `AlgorithmNotAllowed` when `alg` does not
    fit the key.
    """
    alg = alg or default_alg(key)
    spec = _check_alg_for_key(alg, key)
    header: dict[str, Any] = {"alg": alg}
    if typ is not None:
        header["typ"] = typ
    if kid is not None:
        header["kid"] = kid
    if extra_header:
        if {"alg", "typ", "kid"} & extra_header.keys():
            raise ValueError("extra_header may not set alg, typ or kid; use the arguments")
        header.update(extra_header)
    signing_input = (
        b64url_encode(json_dumps_compact(header)) + "." + b64url_encode(payload)
    ).encode("ascii")
    signature = _sign(signing_input, key, spec)
    return signing_input.decode("ascii") + "." + b64url_encode(signature)


def sign_jwt(
    claims: Mapping[str, Any],
    key: PrivateKey,
    *,
    typ: str | None,
    kid: str | None = None,
    alg: str | None = None,
    extra_header: Mapping[str, Any] | None = None,
) -> str:
    """Sign a JWT Claims Set (compact UTF-8 JSON) with `sign_jws`."""
    return sign_jws(
        json_dumps_compact(dict(claims)), key, typ=typ, kid=kid, alg=alg, extra_header=extra_header
    )


# --- verification ---------------------------------------------------------------

# Raw Ed25519 public key bytes by key object. Key objects are neither hashable
# nor weak-referenceable, so the entry keeps the object itself and is checked
# by identity (an id is only reused after its object died, which the stored
# reference prevents). The bytes are immutable; the cache is bounded.
_ED25519_RAW: dict[int, tuple[ed25519.Ed25519PublicKey, bytes]] = {}
_ED25519_RAW_MAX: Final = 512


def _ed25519_raw(key: ed25519.Ed25519PublicKey) -> bytes:
    entry = _ED25519_RAW.get(id(key))
    if entry is not None and entry[0] is key:
        return entry[1]
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if len(_ED25519_RAW) >= _ED25519_RAW_MAX:
        _ED25519_RAW.clear()
    _ED25519_RAW[id(key)] = (key, raw)
    return raw


def _verify_signature(jws: UnverifiedJWS, key: PublicKey, spec: _Alg) -> None:
    if isinstance(key, ed25519.Ed25519PublicKey):
        if len(jws.signature) != 64:
            raise SignatureInvalid("the JWS signature is invalid")
        try:
            # libsodium's combined-mode open is the detached verify of this PyNaCl.
            nacl.bindings.crypto_sign_open(jws.signature + jws.signing_input, _ed25519_raw(key))
        except nacl.exceptions.BadSignatureError as exc:
            raise SignatureInvalid("the JWS signature is invalid") from exc
        return
    assert spec.hash is not None
    if len(jws.signature) != 2 * spec.size:  # RFC 7518 §3.4: exactly R || S
        raise SignatureInvalid("the JWS signature is invalid")
    r = int.from_bytes(jws.signature[: spec.size], "big")
    s = int.from_bytes(jws.signature[spec.size :], "big")
    try:
        key.verify(encode_dss_signature(r, s), jws.signing_input, _ECDSA[spec.hash])
    except InvalidSignature as exc:
        raise SignatureInvalid("the JWS signature is invalid") from exc


def normalise_typ(value: str) -> str:
    """A `typ` value in comparable form (lower case, no `application/` prefix)."""

    # RFC 7515 §4.1.9: media type names are case-insensitive and the
    # "application/" prefix is omitted when nothing else contains a "/".
    lowered = value.lower()
    return lowered[len("application/") :] if lowered.startswith("application/") else lowered


def _check_typ(header: Mapping[str, Any], typ: str | Collection[str]) -> None:
    wanted = {normalise_typ(typ)} if isinstance(typ, str) else {normalise_typ(t) for t in typ}
    actual = header.get("typ")
    if not isinstance(actual, str) or normalise_typ(actual) not in wanted:
        raise TypeMismatch("the token's 'typ' header is not the expected type")


def _check_crit(header: Mapping[str, Any], understood: Collection[str]) -> None:
    if "crit" not in header:
        return
    crit = header["crit"]
    # RFC 7515 §4.1.11: a non-empty array of names, each present in the header,
    # none registered by JWS/JWA, and all understood by the recipient.
    if not isinstance(crit, list) or not crit or not all(isinstance(n, str) for n in crit):
        raise CriticalHeaderUnsupported("the 'crit' header is not a non-empty list of names")
    if len(set(crit)) != len(crit):
        raise CriticalHeaderUnsupported("the 'crit' header lists a name twice")
    for name in crit:
        if name in _REGISTERED_HEADER_NAMES or name not in header:
            raise CriticalHeaderUnsupported("the 'crit' header lists an invalid name")
        if name not in understood:
            raise CriticalHeaderUnsupported("the 'crit' header lists an extension not understood")


def verify_jws(
    token: str | UnverifiedJWS,
    key: PublicKey,
    *,
    typ: str | Collection[str] | None,
    algs: Collection[str] = DEFAULT_ALGS,
    crit_understood: Collection[str] = (),
    allow_header_keys: Collection[str] = (),
) -> VerifiedJWS:
    """Verify a compact JWS with `key` and return its header and payload.

    Steps (RFC 7515 §5.2, RFC 8725 §3):
    1. parse strictly (`MalformedJOSE`);
    2. `alg` in `algs`, never `none`/HMAC, and of `key`'s type (`jose.alg_not_allowed`);
    3. no key-bearing header member unless named in `allow_header_keys`
       (`jose.header_key_rejected`);
    4. `crit` well formed and understood (`jose.crit_unsupported`);
    5. the signature (`jose.signature_invalid`);
    6. `typ`, when `typ` is not None (`jose.typ_mismatch`).
    """
    jws = token if isinstance(token, UnverifiedJWS) else parse_unverified_jws(token)  # 1
    header = jws.header
    alg = header["alg"]
    # (2) An allow-list, not a deny-list; `none` and HS* stay out even if a caller lists them.
    if alg not in algs or alg not in _ALGS:
        raise AlgorithmNotAllowed("the JWS algorithm is not allowed")
    spec = _check_alg_for_key(alg, key)
    for name in HEADER_KEY_MEMBERS & header.keys():  # (3)
        if name not in allow_header_keys:
            raise HeaderKeyRejected("the token carries its own key, which is not trusted")
    _check_crit(header, crit_understood)  # (4)
    _verify_signature(jws, key, spec)  # (5)
    if typ is not None:  # (6)
        _check_typ(header, typ)
    return VerifiedJWS(header, jws.payload)


def verify_jwt(
    token: str | UnverifiedJWS,
    key: PublicKey,
    *,
    typ: str | Collection[str] | None,
    algs: Collection[str] = DEFAULT_ALGS,
    crit_understood: Collection[str] = (),
    allow_header_keys: Collection[str] = (),
) -> dict[str, Any]:
    """`verify_jws`, then the payload as a JSON object. Time claims are NOT checked here:
    call `did.validity.check_time_claims` with the verifier's `now`."""
    verified = verify_jws(
        token,
        key,
        typ=typ,
        algs=algs,
        crit_understood=crit_understood,
        allow_header_keys=allow_header_keys,
    )
    return verified.claims()
