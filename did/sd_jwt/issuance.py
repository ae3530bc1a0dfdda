"""Issuing SD-JWTs (RFC 9901 §4.1, §4.2).

The issuer names the selectively disclosable claims by path from the root of
the claims: `("address",)` for an object property, `("nationalities", 0)` for
an array element, `("address", "street_address")` for a property nested in
another, disclosable or not. A path may sit inside another disclosable claim
(recursive disclosures, §4.2.6). Paths are plain data, so a credential type can
list them in its configuration; every path must name an existing claim
(`sd_jwt.path_invalid`) so that a typo cannot silently publish a claim in the
clear.

The claims are walked depth first in their own order and each claim's
children are encoded before the claim itself. That is the order of the
reference implementation, so feeding the RFC's salts in the order of its
Disclosures reproduces the RFC examples exactly.

Decoy digests (§4.2.5) hide how many claims an object really holds. `decoys`
adds a random number of them to every object that has disclosable claims;
`sd_padding` first fills an object's `_sd` up to a count the issuer fixes per
credential type (the number of claims the type *could* put there), so the
count does not tell which optional claims a credential has.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from did.encoding import json_dumps_compact
from did.errors import DisclosablePathInvalid, ReservedClaimName
from did.jose import sign_jws
from did.keys import PrivateKey, PublicKey, jwk_from_public_key
from did.sd_jwt.disclosures import (
    DEFAULT_SD_ALG,
    ClaimPath,
    Disclosure,
    JSONEncoder,
    compact_json,
    random_salt,
    sd_digest,
)

__all__ = ["IssuedSDJWT", "SDPadding", "issue_sd_jwt", "normalise_paths"]

# For the object at a claim path: how many `_sd` entries it has at least.
SDPadding = Callable[[ClaimPath], int]

_RESERVED: Final = frozenset({"_sd", "_sd_alg", "..."})


@dataclass(frozen=True, slots=True)
class IssuedSDJWT:
    """An SD-JWT as the issuer hands it to the holder: the JWS and ALL Disclosures."""

    issuer_jwt: str
    disclosures: tuple[Disclosure, ...]
    payload: dict[str, Any]

    def serialize(self) -> str:
        """`<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~` (§4)."""
        return "".join([self.issuer_jwt, "~", *(d.encoded + "~" for d in self.disclosures)])

    def __str__(self) -> str:
        return self.serialize()


def normalise_paths(paths: Collection[Sequence[str | int]]) -> frozenset[ClaimPath]:
    """Paths as tuples; refuses the empty path and components that are neither
    strings nor non-negative ints (bool is refused although it is an int)."""
    result: set[ClaimPath] = set()
    for path in paths:
        if isinstance(path, str) or not path:
            raise DisclosablePathInvalid("a claim path is a non-empty sequence of keys and indices")
        for part in path:
            if isinstance(part, str):  # the common case, checked first
                continue
            if isinstance(part, bool) or not isinstance(part, int):
                raise DisclosablePathInvalid("a claim path holds only keys and indices")
            if part < 0:
                raise DisclosablePathInvalid("a claim path index cannot be negative")
        result.add(tuple(path))
    return frozenset(result)


class _Encoder:
    __slots__ = (
        "decoy_rng",
        "decoys",
        "disclosable",
        "disclosures",
        "encoder",
        "padding",
        "salt",
        "used",
    )

    def __init__(
        self,
        disclosable: frozenset[ClaimPath],
        salt: Callable[[], str],
        encoder: JSONEncoder,
        decoys: int,
        decoy_rng: random.Random,
        padding: SDPadding | None = None,
    ) -> None:
        self.disclosable = disclosable
        self.salt = salt
        self.encoder = encoder
        self.decoys = decoys
        self.decoy_rng = decoy_rng
        self.padding = padding
        self.disclosures: list[Disclosure] = []
        self.used: set[ClaimPath] = set()

    def conceal(self, path: ClaimPath, name: str | None, value: Any) -> str:
        disclosure = Disclosure.create(
            salt=self.salt(), name=name, value=value, encoder=self.encoder
        )
        self.disclosures.append(disclosure)
        self.used.add(path)
        return disclosure.digest()

    def decoy_digests(self, path: ClaimPath, real: int) -> list[str]:
        # §4.2.5: digests over fresh random data, indistinguishable from real ones.
        floor = self.padding(path) if self.padding is not None else 0
        if not real and not floor:
            return []  # an object with nothing disclosable keeps no `_sd`
        count = max(0, floor - real)
        if self.decoys:
            count += self.decoy_rng.randint(0, self.decoys)
        return [sd_digest(self.salt()) for _ in range(count)]

    def value(self, node: Any, path: ClaimPath) -> Any:
        # Plain str/int/dict first: `isinstance(node, Mapping)` is an ABC check,
        # several times slower than a check against a concrete class.
        if isinstance(node, str | int | float) or node is None:
            return node
        if isinstance(node, dict) or isinstance(node, Mapping):
            return self.obj(node, path)
        if isinstance(node, list | tuple):
            return self.arr(node, path)
        return node

    def obj(self, node: Mapping[str, Any], path: ClaimPath) -> dict[str, Any]:
        # `_sd` goes first, as the reference implementation writes it, so that the
        # RFC examples reproduce byte for byte; it is removed again if unused.
        out: dict[str, Any] = {"_sd": None}
        digests: list[str] = []
        for name, child in node.items():
            if not isinstance(name, str):
                raise TypeError("claim names must be strings")
            if name in _RESERVED:  # §4.1 rule 7
                raise ReservedClaimName("the claims use a name reserved by SD-JWT")
            claim_path = (*path, name)
            encoded = self.value(child, claim_path)  # children first (see module docstring)
            if claim_path in self.disclosable:
                digests.append(self.conceal(claim_path, name, encoded))
            else:
                out[name] = encoded
        digests.extend(self.decoy_digests(path, len(digests)))
        if digests:
            # §4.2.4.1: hide the original order; sorting is the RFC's suggestion.
            out["_sd"] = sorted(digests)
        else:
            del out["_sd"]  # §4.2.4.1: omit an empty `_sd`
        return out

    def arr(self, node: Sequence[Any], path: ClaimPath) -> list[Any]:
        out: list[Any] = []
        for index, element in enumerate(node):
            claim_path = (*path, index)
            encoded = self.value(element, claim_path)
            if claim_path in self.disclosable:
                out.append({"...": self.conceal(claim_path, None, encoded)})  # §4.2.4.2
            else:
                out.append(encoded)
        return out


def issue_sd_jwt(
    claims: Mapping[str, Any],
    *,
    issuer_key: PrivateKey,
    typ: str | None,
    disclosable: Collection[Sequence[str | int]] = (),
    holder_key: PublicKey | None = None,
    kid: str | None = None,
    alg: str | None = None,
    extra_header: Mapping[str, Any] | None = None,
    decoys: int = 0,
    salt: Callable[[], str] = random_salt,
    decoy_rng: random.Random | None = None,
    encoder: JSONEncoder = compact_json,
    sd_padding: SDPadding | None = None,
) -> IssuedSDJWT:
    """Issue an SD-JWT whose `disclosable` claims are replaced by digests.

    - `typ`: the JOSE `typ` (§9.11 recommends explicit typing, e.g. `dc+sd-jwt`).
    - `holder_key`: when given, `cnf: {"jwk": ...}` is added for Key Binding (§4.1.2).
    - `decoys`: each object with selectively disclosable claims gets between 0
      and `decoys` decoy digests, the count drawn from `decoy_rng` (default: the
      OS CSPRNG).
    - `sd_padding`: for the object at a path, the count its `_sd` is filled up
      to with decoys before the random ones are added (0: no padding). An
      object with no disclosable claim gets an `_sd` of decoys when it is padded.
    - `salt`, `encoder`: injectable only to reproduce published examples; the
      defaults are 128-bit `secrets` salts and compact UTF-8 JSON.

    Raises `sd_jwt.path_invalid` when a path names no claim and
    `sd_jwt.claim_name_reserved` when the claims use `_sd`, `_sd_alg` or `...`.
    """
    if "cnf" in claims and holder_key is not None:
        raise ValueError("give the holder key either as 'cnf' or as holder_key, not both")
    if decoys < 0:
        raise ValueError("decoys cannot be negative")
    wanted = normalise_paths(disclosable)
    walker = _Encoder(
        wanted, salt, encoder, decoys, decoy_rng or secrets.SystemRandom(), sd_padding
    )
    payload = walker.obj(claims, ())
    if walker.used != wanted:
        raise DisclosablePathInvalid("a selectively disclosable path names no claim")
    payload["_sd_alg"] = DEFAULT_SD_ALG  # §4.1.1, explicit although it is the default
    if holder_key is not None:
        payload["cnf"] = {"jwk": jwk_from_public_key(holder_key)}
    jwt = sign_jws(
        json_dumps_compact(payload),
        issuer_key,
        typ=typ,
        kid=kid,
        alg=alg,
        extra_header=extra_header,
    )
    return IssuedSDJWT(jwt, tuple(walker.disclosures), payload)
