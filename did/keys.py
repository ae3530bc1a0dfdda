"""Public and private keys in three shapes: `cryptography` objects, JWK, Multikey.

Supported: Ed25519 (OKP, RFC 8037), P-256, P-384, P-521 and secp256k1 (EC, RFC 7518
§6.2).
Conversions are exact in both directions; anything else raises `InvalidKey`
or `UnsupportedKeyType`.

- JWK (RFC 7517) as a plain `dict[str, str]`; thumbprints per RFC 7638.
- Multikey (Controlled Identifiers 1.0 §2.2.2): multibase base58btc (`z`) over
  the multicodec varint prefix and the raw key; EC public keys are
  SEC1-compressed points.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

import base58
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from multiformats import multicodec

from did.encoding import b64url_decode, b64url_encode
from did.errors import InvalidKey, InvalidMultibase, MalformedInput, UnsupportedKeyType

PublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class _Curve:
    crv: str  # JWK "crv"
    curve: type[ec.EllipticCurve] | None  # None for Ed25519
    size: int  # bytes per coordinate / scalar
    public_codec: str  # multicodec names
    private_codec: str
    alg: str  # the JWS algorithm govid signs with for this key type


_CURVES: Final[tuple[_Curve, ...]] = (
    _Curve("Ed25519", None, 32, "ed25519-pub", "ed25519-priv", "EdDSA"),
    _Curve("P-256", ec.SECP256R1, 32, "p256-pub", "p256-priv", "ES256"),
    _Curve("P-384", ec.SECP384R1, 48, "p384-pub", "p384-priv", "ES384"),
    # RFC 7518 §6.2.1.2: P-521 coordinates are 66 bytes (521 bits, rounded up).
    _Curve("P-521", ec.SECP521R1, 66, "p521-pub", "p521-priv", "ES512"),
    _Curve("secp256k1", ec.SECP256K1, 32, "secp256k1-pub", "secp256k1-priv", "ES256K"),
)
_BY_CRV: Final = {c.crv: c for c in _CURVES}
# Every JWS algorithm a key can be generated for, in the order a user is offered them.
SUPPORTED_ALGS: Final[tuple[str, ...]] = tuple(c.alg for c in _CURVES)
_BY_CODEC: Final = {c.public_codec: c for c in _CURVES} | {c.private_codec: c for c in _CURVES}

# Not in a spec: a bound so a hostile document cannot make us decode megabytes.
MAX_MULTIBASE_LENGTH: Final = 1024


def _curve_of(key: PublicKey | PrivateKey) -> _Curve:
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return _BY_CRV["Ed25519"]
    for c in _CURVES:
        if c.curve is not None and isinstance(key.curve, c.curve):
            return c
    raise UnsupportedKeyType("this elliptic curve is not supported")


def crv_of(key: PublicKey | PrivateKey) -> str:
    """The JWK `crv` name of a key (`Ed25519`, `P-256`, `P-384`, `P-521`, `secp256k1`)."""
    return _curve_of(key).crv


def default_alg(key: PublicKey | PrivateKey) -> str:
    """The JWS `alg` govid uses with this key (RFC 8037 `EdDSA`, RFC 7518 `ES256`...)."""
    return _curve_of(key).alg


def public_key_of(key: PrivateKey) -> PublicKey:
    return key.public_key()


# --- generation ---------------------------------------------------------------


def generate_private_key(alg: str) -> PrivateKey:
    """A fresh private key for JWS `alg`: `EdDSA` (or `Ed25519`) or one of `SUPPORTED_ALGS`."""
    if alg in ("EdDSA", "Ed25519"):
        return ed25519.Ed25519PrivateKey.generate()
    for c in _CURVES:
        if c.alg == alg and c.curve is not None:
            return ec.generate_private_key(c.curve())
    raise UnsupportedKeyType("no key type is known for this algorithm")


# --- JWK ----------------------------------------------------------------------


def _member(jwk: Mapping[str, object], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKey(f"JWK member {name!r} is missing or not a string")
    return value


def _fixed(jwk: Mapping[str, object], name: str, size: int) -> bytes:
    try:
        raw = b64url_decode(_member(jwk, name), what=f"JWK member {name!r}")
    except MalformedInput as exc:
        raise InvalidKey(exc.message) from exc
    if len(raw) != size:
        raise InvalidKey(f"JWK member {name!r} has the wrong length for its curve")
    return raw


def _curve_of_jwk(jwk: Mapping[str, object]) -> _Curve:
    if not isinstance(jwk, Mapping):
        raise InvalidKey("a JWK is a JSON object")
    kty = jwk.get("kty")
    crv = jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return _BY_CRV["Ed25519"]
    if kty == "EC" and isinstance(crv, str) and crv in _BY_CRV and crv != "Ed25519":
        return _BY_CRV[crv]
    if kty in ("OKP", "EC", "RSA", "oct"):
        raise UnsupportedKeyType("this JWK key type or curve is not supported")
    raise InvalidKey("JWK has no valid 'kty'")


# Public key objects by (crv, x, y) exactly as spelled in the JWK. Building an EC
# key checks that the point is on the curve, which costs about a fifth of an
# ES256 verification; a verifier sees the same issuer and holder keys again and
# again. Only keys that passed every check are stored, and since base64url is
# parsed canonically (did.encoding) equal member strings mean equal keys. Key objects
# are immutable, so sharing one is safe; the cache is bounded.
_JWK_KEYS: dict[tuple[str, str, str], PublicKey] = {}
_JWK_KEYS_MAX: Final = 1024


def _jwk_cache_key(jwk: Mapping[str, object], c: _Curve) -> tuple[str, str, str] | None:
    x = jwk.get("x")
    if not isinstance(x, str):
        return None
    if c.curve is None:
        return (c.crv, x, "")
    y = jwk.get("y")
    return (c.crv, x, y) if isinstance(y, str) else None


def public_key_from_jwk(jwk: Mapping[str, object]) -> PublicKey:
    """The public key in `jwk` (private members, if any, are ignored)."""
    c = _curve_of_jwk(jwk)
    cache_key = _jwk_cache_key(jwk, c)
    if cache_key is not None:
        cached = _JWK_KEYS.get(cache_key)
        if cached is not None:
            return cached
    key = _build_public_key(jwk, c)  # raises before anything is stored
    if cache_key is not None:
        if len(_JWK_KEYS) >= _JWK_KEYS_MAX:
            _JWK_KEYS.clear()
        _JWK_KEYS[cache_key] = key
    return key


def _build_public_key(jwk: Mapping[str, object], c: _Curve) -> PublicKey:
    if c.curve is None:
        return ed25519.Ed25519PublicKey.from_public_bytes(_fixed(jwk, "x", 32))
    x = int.from_bytes(_fixed(jwk, "x", c.size), "big")
    y = int.from_bytes(_fixed(jwk, "y", c.size), "big")
    try:
        # Refuses points that are not on the curve (invalid-curve attacks).
        return ec.EllipticCurvePublicNumbers(x, y, c.curve()).public_key()
    except ValueError as exc:
        raise InvalidKey("the JWK's point is not on its curve") from exc


def private_key_from_jwk(jwk: Mapping[str, object]) -> PrivateKey:
    """The private key in `jwk`; its public members must match the private scalar."""
    c = _curve_of_jwk(jwk)
    d = _fixed(jwk, "d", c.size)
    key: PrivateKey
    if c.curve is None:
        key = ed25519.Ed25519PrivateKey.from_private_bytes(d)
    else:
        try:
            key = ec.derive_private_key(int.from_bytes(d, "big"), c.curve())
        except ValueError as exc:
            raise InvalidKey("the JWK's private scalar is out of range") from exc
    if jwk_from_public_key(key.public_key()) != public_jwk(jwk):
        raise InvalidKey("the JWK's public members do not match its private key")
    return key


def jwk_from_public_key(key: PublicKey) -> dict[str, str]:
    """The public JWK with exactly the required members (RFC 7638 §3.2 order-free)."""
    c = _curve_of(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": c.crv,
        "x": b64url_encode(numbers.x.to_bytes(c.size, "big")),
        "y": b64url_encode(numbers.y.to_bytes(c.size, "big")),
    }


def jwk_from_private_key(key: PrivateKey) -> dict[str, str]:
    """The private JWK: the public members plus `d`."""
    c = _curve_of(key)
    jwk = jwk_from_public_key(key.public_key())
    if isinstance(key, ed25519.Ed25519PrivateKey):
        d = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    else:
        d = key.private_numbers().private_value.to_bytes(c.size, "big")
    jwk["d"] = b64url_encode(d)
    return jwk


def public_jwk(jwk: Mapping[str, object]) -> dict[str, str]:
    """The required public members of `jwk`, validated (drops `d`, `kid`, `use`...)."""
    return jwk_from_public_key(public_key_from_jwk(jwk))


def jwk_thumbprint(jwk: Mapping[str, object], *, hash_name: str = "sha256") -> str:
    """The RFC 7638 thumbprint: the hash of the required members in lexicographic order.

    For the key types govid supports all required members are ASCII strings, so
    the canonical form of §3.3 is plain sorted, whitespace-free JSON.
    """
    members = public_jwk(jwk)
    canonical = "{" + ",".join(f'"{k}":"{members[k]}"' for k in sorted(members)) + "}"
    return b64url_encode(hashlib.new(hash_name, canonical.encode("ascii")).digest())


def jwk_thumbprint_uri(jwk: Mapping[str, object]) -> str:
    """RFC 9278 JWK Thumbprint URI for SHA-256."""
    return f"urn:ietf:params:oauth:jwk-thumbprint:sha-256:{jwk_thumbprint(jwk)}"


# --- raw bytes and Multikey ---------------------------------------------------


def public_key_bytes(key: PublicKey) -> bytes:
    """The raw public key: 32 bytes for Ed25519, the SEC1-compressed point for EC."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def public_key_from_bytes(codec: str, raw: bytes) -> PublicKey:
    """Inverse of `public_key_bytes` for the multicodec name `codec` (e.g. `p256-pub`)."""
    c = _BY_CODEC.get(codec)
    if c is None or c.public_codec != codec:
        raise UnsupportedKeyType("this multicodec key type is not supported")
    if c.curve is None:
        if len(raw) != 32:
            raise InvalidKey("an Ed25519 public key is 32 bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    if len(raw) != c.size + 1 or raw[0] not in (2, 3):
        raise InvalidKey("an EC public key must be a SEC1-compressed point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(c.curve(), raw)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidKey("the point is not on its curve") from exc


def multibase_base58btc_decode(text: str) -> bytes:
    """Decode a multibase base58btc string (`z` prefix)."""
    if len(text) > MAX_MULTIBASE_LENGTH:
        raise InvalidMultibase("multibase value is too long")
    if not text.startswith("z"):
        raise InvalidMultibase("expected multibase base58btc (prefix 'z')")
    try:
        raw = base58.b58decode(text[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidMultibase("not valid base58btc") from exc
    if base58.b58encode(raw).decode("ascii") != text[1:]:
        raise InvalidMultibase("not canonical base58btc")
    return raw


def multibase_base58btc_encode(data: bytes) -> str:
    return "z" + base58.b58encode(data).decode("ascii")


def to_multikey(key: PublicKey) -> str:
    """The Multikey `publicKeyMultibase` of a public key."""
    c = _curve_of(key)
    return multibase_base58btc_encode(multicodec.wrap(c.public_codec, public_key_bytes(key)))


# The varint prefixes of the public key codecs govid supports, taken once from
# the multicodec table: `multicodec.unwrap` type-checks at run time and costs
# 70-200 µs a call, on the path of every ledger operation and resolution.
_PUBLIC_PREFIXES: Final = {bytes(multicodec.wrap(c.public_codec, b"")): c for c in _CURVES}


@functools.lru_cache(maxsize=4096)
def from_multikey(text: str) -> PublicKey:
    """Parse a Multikey `publicKeyMultibase` (base58btc, multicodec-prefixed public key).

    Results are cached by text: the same key string always names the same
    (immutable) key, and ledgers and resolvers see the same few keys again
    and again. Failures are not cached.
    """
    raw = multibase_base58btc_decode(text)
    for prefix, curve in _PUBLIC_PREFIXES.items():
        if raw.startswith(prefix):
            return public_key_from_bytes(curve.public_codec, raw[len(prefix) :])
    try:
        codec, body = multicodec.unwrap(raw)
    except (KeyError, ValueError) as exc:
        raise InvalidMultibase("unknown or malformed multicodec prefix") from exc
    return public_key_from_bytes(codec.name, body)


def private_to_multikey(key: PrivateKey) -> str:
    """The Multikey `secretKeyMultibase` of a private key."""
    c = _curve_of(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    else:
        raw = key.private_numbers().private_value.to_bytes(c.size, "big")
    return multibase_base58btc_encode(multicodec.wrap(c.private_codec, raw))


def private_from_multikey(text: str) -> PrivateKey:
    raw = multibase_base58btc_decode(text)
    try:
        codec, body = multicodec.unwrap(raw)
    except (KeyError, ValueError) as exc:
        raise InvalidMultibase("unknown or malformed multicodec prefix") from exc
    c = _BY_CODEC.get(codec.name)
    if c is None or c.private_codec != codec.name:
        raise UnsupportedKeyType("this multicodec private key type is not supported")
    if len(body) != c.size:
        raise InvalidKey("the private key has the wrong length for its curve")
    if c.curve is None:
        return ed25519.Ed25519PrivateKey.from_private_bytes(body)
    try:
        return ec.derive_private_key(int.from_bytes(body, "big"), c.curve())
    except ValueError as exc:
        raise InvalidKey("the private scalar is out of range") from exc


def multikey_to_jwk(text: str) -> dict[str, str]:
    return jwk_from_public_key(from_multikey(text))


def jwk_to_multikey(jwk: Mapping[str, object]) -> str:
    return to_multikey(public_key_from_jwk(jwk))


def same_public_key(a: PublicKey, b: PublicKey) -> bool:
    """True when `a` and `b` are the same key (same curve, same raw encoding)."""
    return crv_of(a) == crv_of(b) and public_key_bytes(a) == public_key_bytes(b)
