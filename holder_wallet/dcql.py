"""DCQL on the wallet's side (OpenID4VP 1.0 §6): which stored credential answers what.

Pure: a parsed query and the wallet's credential records in, a choice out.
Supported: `credentials` of format `dc+sd-jwt` with `meta.vct_values`,
`claims` (paths of strings, indices and `null`), `values`, `claim_sets`,
`multiple`, and `credential_sets` (`options`, `required`). A path with
`null` selects every element of an array (§7.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from holder_wallet.errors import PresentationRequestInvalid

__all__ = [
    "ClaimQuery",
    "CredentialQuery",
    "DCQLQuery",
    "match_credential",
    "resolve_path",
    "select_credentials",
]

MAX_QUERIES: Final = 32
MAX_CLAIMS: Final = 64
Path = tuple[str | int | None, ...]


def _bad(message: str) -> PresentationRequestInvalid:
    return PresentationRequestInvalid(f"the request's DCQL query is invalid: {message}")


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    id: str | None
    path: Path
    values: tuple[Any, ...] | None

    @classmethod
    def parse(cls, obj: object) -> ClaimQuery:
        if not isinstance(obj, dict):
            raise _bad("a claims entry is not an object")
        path, cid, values = obj.get("path"), obj.get("id"), obj.get("values")
        if (
            not isinstance(path, list)
            or not path
            or not all(
                (isinstance(p, str) and p) or p is None or (type(p) is int and p >= 0) for p in path
            )
        ):
            raise _bad("a claim path is not a non-empty list of names, indices and nulls")
        if cid is not None and not isinstance(cid, str):
            raise _bad("a claim id is not a string")
        if values is not None and (not isinstance(values, list) or not values):
            raise _bad("a claim's values is not a non-empty list")
        return cls(cid, tuple(path), None if values is None else tuple(values))


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    id: str
    format: str
    vct_values: tuple[str, ...] | None
    claims: tuple[ClaimQuery, ...]
    claim_sets: tuple[tuple[str, ...], ...] | None
    multiple: bool

    @classmethod
    def parse(cls, obj: object) -> CredentialQuery:
        if not isinstance(obj, dict):
            raise _bad("a credential query is not an object")
        qid, fmt = obj.get("id"), obj.get("format")
        if not isinstance(qid, str) or not qid or not isinstance(fmt, str):
            raise _bad("a credential query has no id or format")
        meta = obj.get("meta", {})
        vcts = meta.get("vct_values") if isinstance(meta, dict) else None
        if vcts is not None and (
            not isinstance(vcts, list) or not all(isinstance(v, str) for v in vcts)
        ):
            raise _bad("vct_values is not a list of strings")
        raw_claims = obj.get("claims", [])
        if not isinstance(raw_claims, list) or len(raw_claims) > MAX_CLAIMS:
            raise _bad("claims is not a list")
        claims = tuple(ClaimQuery.parse(c) for c in raw_claims)
        raw_sets = obj.get("claim_sets")
        sets = None
        if raw_sets is not None:
            ids = {c.id for c in claims}
            if (
                not isinstance(raw_sets, list)
                or not raw_sets
                or not all(isinstance(s, list) and s and set(s) <= ids for s in raw_sets)
            ):
                raise _bad("claim_sets does not name the claims' ids")
            sets = tuple(tuple(s) for s in raw_sets)
        multiple = obj.get("multiple", False)
        if not isinstance(multiple, bool):
            raise _bad("multiple is not a boolean")
        return cls(qid, fmt, None if vcts is None else tuple(vcts), claims, sets, multiple)


@dataclass(frozen=True, slots=True)
class CredentialSet:
    options: tuple[tuple[str, ...], ...]
    required: bool


@dataclass(frozen=True, slots=True)
class DCQLQuery:
    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSet, ...] | None

    @classmethod
    def parse(cls, obj: object) -> DCQLQuery:
        if not isinstance(obj, dict):
            raise _bad("the query is not an object")
        raw = obj.get("credentials")
        if not isinstance(raw, list) or not raw or len(raw) > MAX_QUERIES:
            raise _bad("credentials is not a non-empty list")
        credentials = tuple(CredentialQuery.parse(c) for c in raw)
        ids = [c.id for c in credentials]
        if len(set(ids)) != len(ids):
            raise _bad("two credential queries share an id")
        raw_sets = obj.get("credential_sets")
        sets = None
        if raw_sets is not None:
            if not isinstance(raw_sets, list) or not raw_sets:
                raise _bad("credential_sets is not a non-empty list")
            parsed = []
            for s in raw_sets:
                options = s.get("options") if isinstance(s, dict) else None
                required = s.get("required", True) if isinstance(s, dict) else None
                if (
                    not isinstance(options, list)
                    or not options
                    or not all(isinstance(o, list) and o and set(o) <= set(ids) for o in options)
                    or not isinstance(required, bool)
                ):
                    raise _bad("a credential set is malformed")
                parsed.append(CredentialSet(tuple(tuple(o) for o in options), required))
            sets = tuple(parsed)
        return cls(credentials, sets)


def resolve_path(claims: Any, path: Sequence[str | int | None]) -> list[Any]:
    """Every value `path` selects in `claims` (§7.1 claims path pointer); [] for none."""
    nodes = [claims]
    for step in path:
        nxt: list[Any] = []
        for node in nodes:
            if isinstance(step, str) and isinstance(node, dict) and step in node:
                nxt.append(node[step])
            elif step is None and isinstance(node, list):
                nxt.extend(node)
            elif isinstance(step, int) and isinstance(node, list) and step < len(node):
                nxt.append(node[step])
        nodes = nxt
    return nodes


def _claim_ok(claims: Mapping[str, Any], query: ClaimQuery) -> bool:
    found = resolve_path(claims, query.path)
    if not found:
        return False
    return query.values is None or any(v in query.values for v in found)


def match_credential(
    query: CredentialQuery, *, vct: str, claims: Mapping[str, Any]
) -> tuple[ClaimQuery, ...] | None:
    """The claims to disclose if this credential answers `query`, else None (§6.4.1)."""
    if query.format != "dc+sd-jwt":
        return None
    if query.vct_values is not None and vct not in query.vct_values:
        return None
    if query.claim_sets is None:
        return query.claims if all(_claim_ok(claims, c) for c in query.claims) else None
    by_id = {c.id: c for c in query.claims}
    for option in query.claim_sets:  # §6.4.1: the first satisfiable option, in order
        chosen = tuple(by_id[i] for i in option)
        if all(_claim_ok(claims, c) for c in chosen):
            return chosen
    return None


def select_credentials(query: DCQLQuery, answerable: set[str]) -> tuple[list[str], bool]:
    """The credential query ids to answer, and whether every required set is met (§6.4.2)."""
    if query.credential_sets is None:
        ids = [c.id for c in query.credentials]
        return [i for i in ids if i in answerable], all(i in answerable for i in ids)
    chosen: list[str] = []
    satisfied = True
    for cset in query.credential_sets:
        option = next((o for o in cset.options if set(o) <= answerable), None)
        if option is None:
            satisfied = satisfied and not cset.required
            continue
        chosen.extend(i for i in option if i not in chosen)
    return chosen, satisfied
