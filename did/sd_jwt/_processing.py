"""The digest-to-claim walk of RFC 9901 §7.1 step 3, shared by holder and verifier.

One pass over the issuer-signed payload builds the Processed SD-JWT Payload:
plain claims are copied into fresh containers, each embedded digest is looked
up among the received Disclosures, and matched Disclosures are inserted and
walked in turn (recursive disclosures, §4.2.6). The input payload is not
modified. The walk records the claim path of every Disclosure it uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from did.errors import (
    ClaimNameClash,
    DigestMismatch,
    DisclosureMisplaced,
    DuplicateDigest,
    DuplicateDisclosure,
    MalformedSDJWT,
    ReservedClaimName,
)
from did.sd_jwt.disclosures import ClaimPath, Disclosure

__all__ = ["MAX_DEPTH", "DisclosedClaim", "process_payload"]

SD: Final = "_sd"
SD_ALG: Final = "_sd_alg"
ELLIPSIS: Final = "..."

# Not in the spec: JSON nesting plus disclosure chains are bounded so that a
# hostile token cannot exhaust the stack.
MAX_DEPTH: Final = 64


@dataclass(frozen=True, slots=True)
class DisclosedClaim:
    """A Disclosure that was used, and where its claim sits in the processed payload.

    Array indices in `path` count the elements of the processed array, so with
    all Disclosures at hand (the holder) they equal the indices of the original
    claims.
    """

    path: ClaimPath
    disclosure: Disclosure


class _Walk:
    __slots__ = ("by_digest", "seen", "used")

    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.used: list[DisclosedClaim] = []

    def lookup(self, digest: str) -> Disclosure | None:
        # §7.1 step 4: a digest may appear only once, disclosed or not (decoys too).
        if digest in self.seen:
            raise DuplicateDigest("a digest appears more than once in the SD-JWT")
        self.seen.add(digest)
        return self.by_digest.get(digest)

    def value(self, node: Any, path: ClaimPath, depth: int) -> Any:
        if isinstance(node, dict):
            return self.obj(node, path, depth + 1)
        if isinstance(node, list):
            return self.arr(node, path, depth + 1)
        return node

    def obj(self, node: dict[str, Any], path: ClaimPath, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise MalformedSDJWT("the SD-JWT is nested too deeply")
        out: dict[str, Any] = {}
        for name, child in node.items():
            if name == SD:
                continue
            if name == ELLIPSIS or name == SD_ALG:
                # §4.1 rule 7 and §4.1.1: '...' only in array digests, '_sd_alg' only on top.
                raise MalformedSDJWT("the SD-JWT uses a reserved claim name out of place")
            out[name] = self.value(child, (*path, name), depth)
        if SD not in node:
            return out
        digests = node[SD]
        # §4.2.4.1: `_sd` is an array of strings.
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            raise MalformedSDJWT("an '_sd' member is not an array of digest strings")
        for digest in digests:
            disclosure = self.lookup(digest)
            if disclosure is None:
                continue  # §7.1 step 3.3.1: a decoy or an undisclosed claim
            disclosed_name = disclosure.name
            if disclosed_name is None:  # §7.1 step 3.3.2.1
                raise DisclosureMisplaced("an array-element disclosure is referenced from '_sd'")
            if disclosed_name == SD or disclosed_name == ELLIPSIS:  # §7.1 step 3.3.2.2
                raise ReservedClaimName("a disclosure uses the reserved name '_sd' or '...'")
            if disclosed_name in out:  # §7.1 step 3.3.2.3
                raise ClaimNameClash("a disclosed claim name already exists in its object")
            claim_path = (*path, disclosed_name)
            self.used.append(DisclosedClaim(claim_path, disclosure))
            out[disclosed_name] = self.value(disclosure.value, claim_path, depth)  # 3.3.2.4-5
        return out

    def arr(self, node: list[Any], path: ClaimPath, depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise MalformedSDJWT("the SD-JWT is nested too deeply")
        out: list[Any] = []
        for element in node:
            if isinstance(element, dict) and ELLIPSIS in element:
                digest = element[ELLIPSIS]
                # §4.2.4.2: exactly one key, '...', holding a digest string.
                if len(element) != 1 or not isinstance(digest, str):
                    raise MalformedSDJWT("an array-element digest object is malformed")
                disclosure = self.lookup(digest)
                if disclosure is None:
                    continue  # §7.1 step 3.4: drop undisclosed elements and decoys
                if disclosure.name is not None:  # §7.1 step 3.3.3.1
                    raise DisclosureMisplaced("an object-property disclosure sits in an array")
                claim_path = (*path, len(out))
                self.used.append(DisclosedClaim(claim_path, disclosure))
                out.append(self.value(disclosure.value, claim_path, depth))
            else:
                out.append(self.value(element, (*path, len(out)), depth))
        return out


def index_disclosures(disclosures: Iterable[Disclosure], sd_alg: str) -> dict[str, Disclosure]:
    """Digest → Disclosure; the same Disclosure twice is `sd_jwt.disclosure_duplicate`."""
    by_digest: dict[str, Disclosure] = {}
    for disclosure in disclosures:
        digest = disclosure.digest(sd_alg)
        if digest in by_digest:  # §4: a Holder MUST NOT send a Disclosure more than once
            raise DuplicateDisclosure("a disclosure is included more than once")
        by_digest[digest] = disclosure
    return by_digest


def process_payload(
    payload: dict[str, Any], disclosures: Iterable[Disclosure], sd_alg: str
) -> tuple[dict[str, Any], tuple[DisclosedClaim, ...]]:
    """RFC 9901 §7.1 steps 3-5 over an issuer-signed payload (not modified).

    Returns the Processed SD-JWT Payload (without `_sd`, `_sd_alg` and
    undisclosed array elements) and the Disclosures used, in walk order.
    Raises `sd_jwt.*` codes: `digest_duplicate`, `disclosure_duplicate`,
    `digest_mismatch` (a Disclosure no digest references), `claim_clash`,
    `claim_name_reserved`, `disclosure_misplaced`, `malformed`.
    """
    walk = _Walk(index_disclosures(disclosures, sd_alg))
    top = {k: v for k, v in payload.items() if k != SD_ALG}  # §7.1 step 3.6
    claims = walk.obj(top, (), 1)
    if len(walk.used) != len(walk.by_digest):  # §7.1 step 5
        raise DigestMismatch("a disclosure is not referenced by any digest in the SD-JWT")
    return claims, tuple(walk.used)
