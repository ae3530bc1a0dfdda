"""Holder presentations (RFC 9901 §7.2): choose Disclosures, add a KB-JWT.

Selection is by claim path, as in the issuer's `disclosable` (indices count
the elements of the original arrays), or by a predicate over `(path, value)`.
A path selects the claim there and everything beneath it; a predicate is
asked about each Disclosure on its own. Either way, every Disclosure on the
way from the root to a selected claim is added (§4.2.6: a nested Disclosure
is useless, and not allowed, without its parents), and the chosen
Disclosures keep the order in which the issuer sent them. Paths that match
no Disclosure are ignored: a claim that was never selectively disclosable is
always visible, and a claim the credential does not have cannot be shown.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from did.errors import KeyBindingUnexpected
from did.keys import PrivateKey
from did.sd_jwt._processing import DisclosedClaim, process_payload
from did.sd_jwt.disclosures import DEFAULT_SD_ALG, ClaimPath, Disclosure
from did.sd_jwt.issuance import IssuedSDJWT
from did.sd_jwt.key_binding import create_kb_jwt
from did.sd_jwt.serialization import UnverifiedSDJWT

__all__ = ["Selection", "disclosure_map", "present_sd_jwt", "select_disclosures"]

Selection: TypeAlias = Collection[Sequence[str | int]] | Callable[[ClaimPath, Any], bool]


def _unverified(issued: str | IssuedSDJWT | UnverifiedSDJWT) -> UnverifiedSDJWT:
    if isinstance(issued, UnverifiedSDJWT):
        parsed = issued
    else:
        parsed = UnverifiedSDJWT.parse(str(issued))
    if parsed.kb_jwt is not None:  # §7.2: the holder receives an SD-JWT, never an SD-JWT+KB
        raise KeyBindingUnexpected("an issued SD-JWT must not carry a Key Binding JWT")
    return parsed


def disclosure_map(issued: str | IssuedSDJWT | UnverifiedSDJWT) -> tuple[DisclosedClaim, ...]:
    """Every Disclosure of an issued SD-JWT with the path of its claim.

    Runs the §7.1 processing (digests, duplicates, placement) but does NOT
    verify the issuer's signature: the holder does that on receipt with
    `verify_issued_sd_jwt`. A wallet shows the user these paths to choose from.
    """
    parsed = _unverified(issued)
    sd_alg = parsed.unverified_payload.get("_sd_alg", DEFAULT_SD_ALG)
    _, disclosed = process_payload(
        parsed.unverified_payload,
        parsed.disclosures,
        sd_alg if isinstance(sd_alg, str) else DEFAULT_SD_ALG,
    )
    return disclosed


def _is_prefix(prefix: ClaimPath, path: ClaimPath) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix


def select_disclosures(
    issued: str | IssuedSDJWT | UnverifiedSDJWT, *, disclose: Selection
) -> tuple[Disclosure, ...]:
    """The Disclosures to present for `disclose`, parents included, issuer order kept."""
    parsed = _unverified(issued)
    entries = disclosure_map(parsed)
    if callable(disclose):
        chosen = [e.path for e in entries if disclose(e.path, e.disclosure.value)]

        def wanted(path: ClaimPath) -> bool:
            return any(_is_prefix(path, c) for c in chosen)  # path is c or an ancestor of it
    else:
        paths = [tuple(p) for p in disclose if not isinstance(p, str)]
        if len(paths) != len(disclose):
            raise TypeError("disclose holds paths (sequences), not bare strings")

        def wanted(path: ClaimPath) -> bool:
            # Ancestors of a requested path, the requested claim, and its subtree.
            return any(_is_prefix(path, p) or _is_prefix(p, path) for p in paths)

    keep = {id(e.disclosure) for e in entries if wanted(e.path)}
    return tuple(d for d in parsed.disclosures if id(d) in keep)


def present_sd_jwt(
    issued: str | IssuedSDJWT | UnverifiedSDJWT,
    *,
    disclose: Selection,
    holder_key: PrivateKey | None = None,
    aud: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
    alg: str | None = None,
) -> str:
    """Assemble a presentation (§7.2 steps 1-5).

    Without `holder_key` the result is an SD-JWT (ending in `~`); with it, an
    SD-JWT+KB whose KB-JWT carries `aud`, `nonce` and `iat = now` (all three
    then required).
    """
    parsed = _unverified(issued)
    chosen = select_disclosures(parsed, disclose=disclose)
    sd_jwt = "".join([parsed.issuer_jwt, "~", *(d.encoded + "~" for d in chosen)])
    if holder_key is None:
        if aud is not None or nonce is not None:
            raise TypeError("aud and nonce need a holder_key to sign the Key Binding JWT")
        return sd_jwt
    if aud is None or nonce is None or now is None:
        raise TypeError("a Key Binding JWT needs aud, nonce and now")
    sd_alg = parsed.unverified_payload.get("_sd_alg", DEFAULT_SD_ALG)
    kb_jwt = create_kb_jwt(
        sd_jwt,
        holder_key=holder_key,
        aud=aud,
        nonce=nonce,
        now=now,
        alg=alg,
        sd_alg=sd_alg if isinstance(sd_alg, str) else DEFAULT_SD_ALG,
    )
    return sd_jwt + kb_jwt
