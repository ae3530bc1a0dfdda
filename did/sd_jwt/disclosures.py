"""Disclosures (RFC 9901 §4.2): salts, encoding, digests.

A Disclosure is the base64url encoding of the UTF-8 JSON array
`[salt, claim_name, claim_value]` (an object property, §4.2.1) or
`[salt, claim_value]` (an array element, §4.2.2). Its digest is taken over
the US-ASCII bytes of that base64url string, not over the decoded JSON
(§4.2.3), so any JSON spelling is valid and the issuer's spelling is what the
signature pins. `Disclosure.encoded` is therefore kept exactly as received.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from did.encoding import b64url_decode, b64url_encode, json_dumps_compact, json_loads_strict
from did.errors import HashAlgorithmUnsupported, MalformedDisclosure, MalformedInput

__all__ = [
    "DEFAULT_SD_ALG",
    "HASH_ALGORITHMS",
    "SALT_BYTES",
    "ClaimPath",
    "Disclosure",
    "JSONEncoder",
    "compact_json",
    "hash_function",
    "random_salt",
    "rfc_example_json",
    "sd_digest",
]

# A claim's position from the root of the claims: object keys and array indices.
ClaimPath: TypeAlias = tuple[str | int, ...]
# Turns the disclosure array into its JSON text (the issuer's spelling).
JSONEncoder: TypeAlias = Callable[[list[Any]], bytes]

# §4.1.1: "sha-256" is the default and mandatory to implement. The names are
# the "Hash Name String" column of the IANA Named Information registry.
DEFAULT_SD_ALG: Final = "sha-256"
HASH_ALGORITHMS: Final[Mapping[str, Callable[[bytes], Any]]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
    "sha3-256": hashlib.sha3_256,
    "sha3-384": hashlib.sha3_384,
    "sha3-512": hashlib.sha3_512,
}

# §9.3: at least 128 bits of cryptographically secure randomness per salt.
SALT_BYTES: Final = 16

_RESERVED_NAMES: Final = frozenset({"_sd", "..."})


def hash_function(sd_alg: str) -> Callable[[bytes], Any]:
    """The hashlib constructor for an `_sd_alg` name; raises `sd_jwt.sd_alg_unsupported`."""
    fn = HASH_ALGORITHMS.get(sd_alg)
    if fn is None:
        raise HashAlgorithmUnsupported("the '_sd_alg' hash algorithm is not supported")
    return fn


def sd_digest(text: str, sd_alg: str = DEFAULT_SD_ALG) -> str:
    """base64url(hash(ASCII(text))) — the digest of a Disclosure (§4.2.3) or of an
    SD-JWT for `sd_hash` (§4.3.1)."""
    return b64url_encode(hash_function(sd_alg)(text.encode("ascii")).digest())


def random_salt() -> str:
    """A fresh salt: 128 bits from `secrets`, base64url-encoded (§4.2.1, §9.3)."""
    return b64url_encode(secrets.token_bytes(SALT_BYTES))


def compact_json(array: list[Any]) -> bytes:
    """govid's disclosure spelling: UTF-8 JSON without insignificant whitespace."""
    return json_dumps_compact(array)


def rfc_example_json(array: list[Any]) -> bytes:
    """The spelling of the generated RFC 9901 examples (Python `json.dumps` defaults:
    `", "` separators, non-ASCII as `\\u` escapes), to reproduce their exact
    Disclosure strings. (The hand-written §4.2.1 example uses raw UTF-8 instead.)"""
    return json.dumps(array, allow_nan=False).encode("ascii")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One Disclosure. `name` is None for an array element (§4.2.2).

    Build with `Disclosure.parse` (received) or `Disclosure.create` (issuing).
    """

    salt: str
    name: str | None
    value: Any
    encoded: str

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        """Decode a Disclosure string; raises `sd_jwt.disclosure_malformed`.

        The claim name is not checked against `_sd`/`...` here: §7.1 step
        3.3.2.2 rejects reserved names where a Disclosure is used.
        """
        try:
            raw = b64url_decode(encoded, what="disclosure")
        except MalformedInput as exc:
            raise MalformedDisclosure(exc.message) from exc
        array = json_loads_strict(raw, what="disclosure", error=MalformedDisclosure)
        if not isinstance(array, list) or len(array) not in (2, 3):
            raise MalformedDisclosure("a disclosure is a JSON array of two or three elements")
        if not isinstance(array[0], str):
            raise MalformedDisclosure("a disclosure's salt must be a string")
        if len(array) == 2:
            return cls(array[0], None, array[1], encoded)
        if not isinstance(array[1], str):
            raise MalformedDisclosure("a disclosure's claim name must be a string")
        return cls(array[0], array[1], array[2], encoded)

    @classmethod
    def create(
        cls,
        *,
        salt: str,
        name: str | None,
        value: Any,
        encoder: JSONEncoder = compact_json,
    ) -> Disclosure:
        """Encode a new Disclosure (§4.2.1 / §4.2.2) with the JSON spelling of `encoder`."""
        if name in _RESERVED_NAMES:
            raise ValueError("'_sd' and '...' cannot be disclosed claim names")
        array: list[Any] = [salt, value] if name is None else [salt, name, value]
        return cls(salt, name, value, b64url_encode(encoder(array)))

    @property
    def is_array_element(self) -> bool:
        return self.name is None

    def digest(self, sd_alg: str = DEFAULT_SD_ALG) -> str:
        """The digest that the issuer-signed JWT embeds for this Disclosure (§4.2.3)."""
        return sd_digest(self.encoded, sd_alg)
