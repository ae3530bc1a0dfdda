"""Verification methods and services: the parts of a DID document (DID Core §5.2, §5.4).

A `VerificationMethod` is a `Multikey` (Controlled Identifiers 1.0 §2.2.2) or
a `JsonWebKey` (§2.2.3). The older `JsonWebKey2020`,
`Ed25519VerificationKey2020` and `Ed25519VerificationKey2018` are read for
compatibility and converted; other types are refused with
`InvalidDIDDocument`. Keys of a type govid cannot verify with (X25519, BLS,
RSA) are kept as data, and `public_key()` raises `UnsupportedKeyType`.

The small JSON-shape helpers here are shared with `did.document`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from multiformats import multicodec

from did.errors import GovidError, InvalidDIDDocument, UnsupportedKeyType
from did.identifiers import DID, DIDURL
from did.keys import (
    PublicKey,
    from_multikey,
    jwk_from_public_key,
    multibase_base58btc_decode,
    public_key_from_bytes,
    public_key_from_jwk,
    to_multikey,
)

MULTIKEY: Final = "Multikey"
JSON_WEB_KEY: Final = "JsonWebKey"

# Bounds not in the spec, so a hostile document cannot make us do much work.
MAX_SET_SIZE: Final = 100
MAX_URI_LENGTH: Final = 4096

# Every property that carries key material; a method may hold only the one its type names.
_KEY_PROPERTIES: Final = frozenset(
    {
        "publicKeyMultibase",
        "publicKeyJwk",
        "publicKeyBase58",
        "publicKeyHex",
        "publicKeyPem",
        "blockchainAccountId",
        "secretKeyMultibase",
        "privateKeyMultibase",
        "privateKeyJwk",
        "privateKeyBase58",
    }
)
# RFC 7518 §6.2.2, §6.3.2, §6.4.1 and RFC 8037 §2: members that hold private keys.
_PRIVATE_JWK_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_URI_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")
_VM_KNOWN: Final = frozenset({"id", "type", "controller"}) | _KEY_PROPERTIES
_SERVICE_KNOWN: Final = frozenset({"id", "type", "serviceEndpoint"})


def _invalid(message: str) -> InvalidDIDDocument:
    return InvalidDIDDocument(message)


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _invalid(f"{what} must be a JSON object")
    return value


def _string(obj: Mapping[str, Any], name: str, what: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid(f"{what} needs a non-empty string {name!r}")
    return value


def _list(value: object, what: str, limit: int = MAX_SET_SIZE) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"{what} must be a JSON array")
    if len(value) > limit:
        raise _invalid(f"{what} has more than {limit} entries")
    return value


def _did_url(text: object, base: DID, what: str) -> DIDURL:
    if not isinstance(text, str):
        raise _invalid(f"{what} must be a string")
    try:
        return DIDURL.parse(text, base=base)
    except GovidError as exc:
        raise _invalid(f"{what} is not an absolute DID URL or a #fragment") from exc


def _did(text: object, what: str) -> DID:
    if not isinstance(text, str):
        raise _invalid(f"{what} must be a string")
    try:
        return DID.parse(text)
    except GovidError as exc:
        raise _invalid(f"{what} is not a DID") from exc


def _check_multikey(value: str) -> None:
    try:
        from_multikey(value)
    except UnsupportedKeyType:
        # A well-formed key govid does not verify with: keep it, but make sure
        # an X25519 key (the one such key did:key derives) has its length.
        codec, body = multicodec.unwrap(multibase_base58btc_decode(value))
        # Only public-key codecs: a secret key (`*-priv`) published by mistake is refused.
        if codec.tag != "key" or not codec.name.endswith("-pub"):
            raise _invalid("publicKeyMultibase does not hold a public key") from None
        if codec.name == "x25519-pub" and len(body) != 32:
            raise _invalid("an X25519 Multikey is 32 bytes") from None
    except GovidError as exc:
        raise _invalid("publicKeyMultibase is not a valid Multikey") from exc


def _check_jwk(jwk: Mapping[str, Any]) -> None:
    # DID Core §5.2.1: publicKeyJwk MUST NOT contain private key members.
    if _PRIVATE_JWK_MEMBERS & jwk.keys():
        raise _invalid("publicKeyJwk contains private key members")
    try:
        public_key_from_jwk(jwk)
    except UnsupportedKeyType:
        pass  # kept as data; public_key() refuses it
    except GovidError as exc:
        raise _invalid("publicKeyJwk is not a valid public JWK") from exc


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    """One verification method (DID Core §5.2): `Multikey` or `JsonWebKey`.

    Exactly one of `public_key_multibase` and `public_key_jwk` is set,
    matching `type`. Build with `from_json` or `from_public_key`.
    """

    id: DIDURL
    type: str
    controller: DID
    public_key_multibase: str | None = None
    public_key_jwk: dict[str, Any] | None = field(default=None, hash=False)
    extensions: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_json(cls, value: object, *, base: DID) -> VerificationMethod:
        """Parse a verification method map; relative ids resolve against `base`."""
        obj = _object(value, "a verification method")
        vm_id = _did_url(obj.get("id"), base, "a verification method id")
        vm_type = _string(obj, "type", "a verification method")
        controller = _did(obj.get("controller"), "a verification method controller")
        present = _KEY_PROPERTIES & obj.keys()
        extensions = copy.deepcopy({k: v for k, v in obj.items() if k not in _VM_KNOWN})

        if vm_type in (MULTIKEY, "Ed25519VerificationKey2020"):
            expected = "publicKeyMultibase"
        elif vm_type in (JSON_WEB_KEY, "JsonWebKey2020"):
            expected = "publicKeyJwk"
        elif vm_type == "Ed25519VerificationKey2018":
            expected = "publicKeyBase58"
        else:
            raise _invalid("unsupported verification method type")
        if present != {expected}:
            raise _invalid(f"a {vm_type} verification method needs exactly {expected!r}")

        if expected == "publicKeyJwk":
            jwk = dict(_object(obj["publicKeyJwk"], "publicKeyJwk"))
            _check_jwk(jwk)
            return cls(vm_id, JSON_WEB_KEY, controller, None, copy.deepcopy(jwk), extensions)

        raw_value = _string(obj, expected, "a verification method")
        if expected == "publicKeyBase58":
            # Ed25519 2018 suite: the raw 32-byte key in plain base58btc.
            try:
                key = public_key_from_bytes(
                    "ed25519-pub", multibase_base58btc_decode("z" + raw_value)
                )
            except GovidError as exc:
                raise _invalid("publicKeyBase58 is not an Ed25519 public key") from exc
            multibase = to_multikey(key)
        else:
            _check_multikey(raw_value)
            multibase = raw_value
        if vm_type == "Ed25519VerificationKey2020" and not multibase.startswith("z6Mk"):
            raise _invalid("an Ed25519VerificationKey2020 must hold an Ed25519 key")
        return cls(vm_id, MULTIKEY, controller, multibase, None, extensions)

    @classmethod
    def from_public_key(
        cls, key: PublicKey, *, id: DIDURL, controller: DID, type: str = MULTIKEY
    ) -> VerificationMethod:
        """A `Multikey` (default) or `JsonWebKey` method for `key`."""
        if type == MULTIKEY:
            return cls(id, MULTIKEY, controller, to_multikey(key))
        if type == JSON_WEB_KEY:
            return cls(id, JSON_WEB_KEY, controller, None, jwk_from_public_key(key))
        raise ValueError("type must be 'Multikey' or 'JsonWebKey'")

    def public_key(self) -> PublicKey:
        """The key as a `cryptography` object; `UnsupportedKeyType` for X25519, RSA...."""
        if self.public_key_jwk is not None:
            return public_key_from_jwk(self.public_key_jwk)
        if self.public_key_multibase is None:  # pragma: no cover - construction prevents it
            raise UnsupportedKeyType("the verification method holds no key")
        return from_multikey(self.public_key_multibase)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "controller": str(self.controller),
        }
        if self.public_key_jwk is not None:
            out["publicKeyJwk"] = copy.deepcopy(self.public_key_jwk)
        else:
            out["publicKeyMultibase"] = self.public_key_multibase
        out.update(copy.deepcopy(self.extensions))
        return out


@dataclass(frozen=True, slots=True)
class Service:
    """A service (DID Core §5.4). `id` is absolute (a `#frag` id is resolved)."""

    id: str
    type: str | tuple[str, ...]
    service_endpoint: Any = field(hash=False)
    extensions: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_json(cls, value: object, *, base: DID) -> Service:
        obj = _object(value, "a service")
        raw_id = obj.get("id")
        if isinstance(raw_id, str) and DIDURL.is_relative(raw_id):
            service_id = str(_did_url(raw_id, base, "a service id"))
        elif (
            isinstance(raw_id, str) and len(raw_id) <= MAX_URI_LENGTH and _URI_RE.fullmatch(raw_id)
        ):
            service_id = raw_id
        else:
            raise _invalid("a service id must be a URI")
        raw_type = obj.get("type")
        service_type: str | tuple[str, ...]
        if isinstance(raw_type, str) and raw_type:
            service_type = raw_type
        elif (
            isinstance(raw_type, list)
            and 0 < len(raw_type) <= MAX_SET_SIZE
            and all(isinstance(t, str) and t for t in raw_type)
        ):
            service_type = tuple(raw_type)
        else:
            raise _invalid("a service type must be a string or a set of strings")
        endpoint = obj.get("serviceEndpoint")
        # DID Core §5.4: a string, a map, or a set of strings and maps.
        ok_endpoint = isinstance(endpoint, str | dict) or (
            isinstance(endpoint, list)
            and 0 < len(endpoint) <= MAX_SET_SIZE
            and all(isinstance(e, str | dict) for e in endpoint)
        )
        if not ok_endpoint or endpoint == "":
            raise _invalid("a serviceEndpoint must be a URI, a map, or a set of them")
        extensions = {k: v for k, v in obj.items() if k not in _SERVICE_KNOWN}
        return cls(service_id, service_type, copy.deepcopy(endpoint), copy.deepcopy(extensions))

    def to_json(self) -> dict[str, Any]:
        service_type = self.type if isinstance(self.type, str) else list(self.type)
        out = {"id": self.id, "type": service_type}
        out["serviceEndpoint"] = copy.deepcopy(self.service_endpoint)
        out.update(copy.deepcopy(self.extensions))
        return out
