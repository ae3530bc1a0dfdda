"""DCQL, the Digital Credentials Query Language of OpenID4VP 1.0 §6, for `dc+sd-jwt`.

The one implementation: the verifier builds and checks queries with it, the
wallet reads them with it. Parsing is strict (`dcql.query_invalid` for
anything §6 does not allow) and bounded; matching is pure.

The verifier's side:

- `match_credential(query, vct=..., claims=...)` returns the requested claims
  of one verified credential, or raises `dcql.vct_mismatch` /
  `dcql.claims_not_satisfied` (§6.3, §6.4.1 claims and claim_sets, §7.1 path
  pointers, §6.4.2 `values`);
- `check_credential_sets(query, present_ids)` applies `credential_sets` (§6.2)
  or, without them, requires every Credential Query (§6.4.2).

The wallet's side:

- `select_claims(query, vct=..., claims=...)`: which claims queries one
  stored credential would answer (the first claim set that fits, §6.4.1),
  or None;
- `select_credentials(query, answerable)`: which Credential Queries to
  answer, and whether every required credential set is met (§6.4.2);
- `resolve_path(claims, path)`: the values a claims path selects (§7.2).

Only the `dc+sd-jwt` format is supported; other formats are refused at parse
time so a counter never asks for something it cannot verify, and a wallet
says plainly that it cannot answer such a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from openid4vc.errors import ClaimsNotSatisfied, CredentialTypeMismatch, QueryInvalid
from openid4vc.issuance import SD_JWT_VC_FORMAT

__all__ = [
    "ClaimQuery",
    "CredentialQuery",
    "CredentialSetQuery",
    "DCQLQuery",
    "check_credential_sets",
    "match_credential",
    "resolve_path",
    "select_claims",
    "select_credentials",
]
MAX_CREDENTIALS: Final = 16
MAX_CLAIMS: Final = 64
MAX_PATH: Final = 16
# §6.1: ids are non-empty strings of alphanumerics, underscore or hyphen.
_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")

PathElement = str | int | None


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    path: tuple[PathElement, ...]
    id: str | None = None
    values: tuple[str | int | bool, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": list(self.path)}
        if self.id is not None:
            out["id"] = self.id
        if self.values is not None:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    id: str
    vct_values: tuple[str, ...] | None
    claims: tuple[ClaimQuery, ...] | None
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    multiple: bool = False
    require_cryptographic_holder_binding: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "format": SD_JWT_VC_FORMAT, "meta": {}}
        if self.vct_values is not None:
            out["meta"]["vct_values"] = list(self.vct_values)
        if self.claims is not None:
            out["claims"] = [c.to_json() for c in self.claims]
        if self.claim_sets is not None:
            out["claim_sets"] = [list(s) for s in self.claim_sets]
        if self.multiple:
            out["multiple"] = True
        return out


@dataclass(frozen=True, slots=True)
class CredentialSetQuery:
    options: tuple[tuple[str, ...], ...]
    required: bool = True


@dataclass(frozen=True, slots=True)
class DCQLQuery:
    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSetQuery, ...] | None = None

    def credential(self, query_id: str) -> CredentialQuery | None:
        return next((c for c in self.credentials if c.id == query_id), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"credentials": [c.to_json() for c in self.credentials]}
        if self.credential_sets is not None:
            out["credential_sets"] = [
                {"options": [list(o) for o in s.options], "required": s.required}
                for s in self.credential_sets
            ]
        return out

    @classmethod
    def parse(cls, obj: object) -> DCQLQuery:
        """Parse a DCQL query object (§6.1); raise `dcql.query_invalid`."""
        if not isinstance(obj, Mapping):
            raise QueryInvalid("a DCQL query is a JSON object")
        _only(obj, {"credentials", "credential_sets"}, "the query")
        creds = obj.get("credentials")
        if not isinstance(creds, list) or not 1 <= len(creds) <= MAX_CREDENTIALS:
            raise QueryInvalid(f"'credentials' holds 1 to {MAX_CREDENTIALS} Credential Queries")
        credentials = tuple(_credential(c) for c in creds)
        ids = [c.id for c in credentials]
        if len(set(ids)) != len(ids):
            raise QueryInvalid("two Credential Queries share an id")
        sets = obj.get("credential_sets")
        credential_sets = None
        if sets is not None:
            if not isinstance(sets, list) or not sets:
                raise QueryInvalid("'credential_sets' is a non-empty array")
            credential_sets = tuple(_credential_set(s, set(ids)) for s in sets)
        return cls(credentials, credential_sets)


def _only(obj: Mapping[str, Any], allowed: set[str], what: str) -> None:
    if not set(obj) <= allowed:
        raise QueryInvalid(f"{what} has members this verifier does not understand")


def _id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise QueryInvalid(f"{what} must be 1-64 letters, digits, '_' or '-'")
    return value


def _credential(obj: object) -> CredentialQuery:
    if not isinstance(obj, Mapping):
        raise QueryInvalid("a Credential Query is a JSON object")
    _only(
        obj,
        {
            "id",
            "format",
            "meta",
            "claims",
            "claim_sets",
            "multiple",
            "require_cryptographic_holder_binding",
            "trusted_authorities",
        },
        "a Credential Query",
    )
    query_id = _id(obj.get("id"), "a Credential Query id")
    if obj.get("format") != SD_JWT_VC_FORMAT:
        raise QueryInvalid("only the dc+sd-jwt format is supported")
    meta = obj.get("meta")
    if not isinstance(meta, Mapping):
        raise QueryInvalid("'meta' is a required object")  # §6.1: REQUIRED
    vct_values = meta.get("vct_values")
    vcts: tuple[str, ...] | None = None
    if vct_values is not None:
        if not isinstance(vct_values, list) or not vct_values:
            raise QueryInvalid("'vct_values' is a non-empty array of strings")
        if not all(isinstance(v, str) and v for v in vct_values):
            raise QueryInvalid("'vct_values' is a non-empty array of strings")
        vcts = tuple(vct_values)
    for flag in ("multiple", "require_cryptographic_holder_binding"):
        if flag in obj and not isinstance(obj[flag], bool):
            raise QueryInvalid(f"'{flag}' is a boolean")
    if obj.get("require_cryptographic_holder_binding") is False:
        # Every govid credential is holder-bound; a counter never accepts a copied one.
        raise QueryInvalid("this verifier always requires holder binding")
    raw_claims = obj.get("claims")
    claims: tuple[ClaimQuery, ...] | None = None
    if raw_claims is not None:
        if not isinstance(raw_claims, list) or not 1 <= len(raw_claims) <= MAX_CLAIMS:
            raise QueryInvalid(f"'claims' holds 1 to {MAX_CLAIMS} claims queries")
        claims = tuple(_claim(c) for c in raw_claims)
    claim_sets = None
    if "claim_sets" in obj:
        claim_sets = _claim_sets(obj["claim_sets"], claims)
    return CredentialQuery(
        query_id, vcts, claims, claim_sets, bool(obj.get("multiple", False)), True
    )


def _claim(obj: object) -> ClaimQuery:
    if not isinstance(obj, Mapping):
        raise QueryInvalid("a claims query is a JSON object")
    _only(obj, {"id", "path", "values"}, "a claims query")
    claim_id = None if obj.get("id") is None else _id(obj["id"], "a claims query id")
    path = obj.get("path")
    if not isinstance(path, list) or not 1 <= len(path) <= MAX_PATH:
        raise QueryInvalid("a claims path is a non-empty array")
    for step in path:
        # §7.1: a string (key), a non-negative integer (index) or null (all elements).
        if isinstance(step, bool) or not (
            step is None or isinstance(step, str) or (isinstance(step, int) and step >= 0)
        ):
            raise QueryInvalid("a claims path holds strings, non-negative integers or null")
    values = obj.get("values")
    vals: tuple[str | int | bool, ...] | None = None
    if values is not None:
        if not isinstance(values, list) or not values:
            raise QueryInvalid("'values' is a non-empty array")
        if not all(isinstance(v, str | int | bool) for v in values):
            raise QueryInvalid("'values' holds strings, integers or booleans")
        vals = tuple(values)
    return ClaimQuery(tuple(path), claim_id, vals)


def _claim_sets(
    value: object, claims: tuple[ClaimQuery, ...] | None
) -> tuple[tuple[str, ...], ...]:
    if claims is None:
        raise QueryInvalid("'claim_sets' needs 'claims'")  # §6.1
    ids = {c.id for c in claims}
    if None in ids:
        raise QueryInvalid("with 'claim_sets', every claims query needs an id")
    if not isinstance(value, list) or not value:
        raise QueryInvalid("'claim_sets' is a non-empty array")
    out = []
    for option in value:
        if not isinstance(option, list) or not option:
            raise QueryInvalid("a claim set is a non-empty array of ids")
        if not all(isinstance(i, str) and i in ids for i in option):
            raise QueryInvalid("a claim set names an unknown claims query id")
        out.append(tuple(option))
    return tuple(out)


def _credential_set(obj: object, ids: set[str]) -> CredentialSetQuery:
    if not isinstance(obj, Mapping):
        raise QueryInvalid("a Credential Set Query is a JSON object")
    _only(obj, {"options", "required", "purpose"}, "a Credential Set Query")
    options = obj.get("options")
    if not isinstance(options, list) or not options:
        raise QueryInvalid("'options' is a non-empty array")
    out = []
    for option in options:
        if not isinstance(option, list) or not option:
            raise QueryInvalid("an option is a non-empty array of Credential Query ids")
        if not all(isinstance(i, str) and i in ids for i in option):
            raise QueryInvalid("an option names an unknown Credential Query id")
        out.append(tuple(option))
    required = obj.get("required", True)
    if not isinstance(required, bool):
        raise QueryInvalid("'required' is a boolean")
    return CredentialSetQuery(tuple(out), required)


# --- matching -------------------------------------------------------------------------


def _select(node: Any, path: Sequence[PathElement]) -> list[tuple[tuple[str | int, ...], Any]]:
    """§7.2 claims path pointer processing: every (concrete path, value) selected."""
    selected: list[tuple[tuple[str | int, ...], Any]] = [((), node)]
    for step in path:
        nxt: list[tuple[tuple[str | int, ...], Any]] = []
        for where, value in selected:
            if step is None:
                if isinstance(value, list):
                    nxt.extend(((*where, i), v) for i, v in enumerate(value))
            elif isinstance(step, str):
                if isinstance(value, dict) and step in value:
                    nxt.append(((*where, step), value[step]))
            elif isinstance(value, list) and step < len(value):
                nxt.append(((*where, step), value[step]))
        selected = nxt
    return selected


def _matches(
    query: ClaimQuery, claims: Mapping[str, Any]
) -> list[tuple[tuple[str | int, ...], Any]]:
    found = _select(claims, query.path)
    if query.values is not None:
        # §6.4.2: type and value must both match (a JSON true is not the integer 1).
        found = [
            (p, v)
            for p, v in found
            if any(type(v) is type(want) and v == want for want in query.values)
        ]
    return found


def _put(out: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = out
    for i, step in enumerate(path[:-1]):
        nxt_is_index = isinstance(path[i + 1], int)
        if isinstance(node, dict):
            node = node.setdefault(str(step), [] if nxt_is_index else {})
        else:
            assert isinstance(step, int)
            while len(node) <= step:
                node.append(None)
            if node[step] is None:
                node[step] = [] if nxt_is_index else {}
            node = node[step]
    last = path[-1]
    if isinstance(node, dict):
        node[str(last)] = value
    else:
        assert isinstance(last, int)
        while len(node) <= last:
            node.append(None)
        node[last] = value


def match_credential(
    query: CredentialQuery, *, vct: str, claims: Mapping[str, Any]
) -> dict[str, Any]:
    """The claims `query` asks for, taken from one verified credential; raises otherwise.

    Returns only the requested claims (nothing else is handed on to the
    counter), nested as in the credential. Without `claims` in the query, no
    claim is requested (§6.4.1: only the type is) and the result is empty.
    """
    if query.vct_values is not None and vct not in query.vct_values:
        raise CredentialTypeMismatch("the credential is not of a requested type")
    if query.claims is None:
        return {}
    matched = {i: _matches(c, claims) for i, c in enumerate(query.claims)}
    chosen = _choose(query, matched)
    if chosen is None:
        if query.claim_sets is None:
            raise ClaimsNotSatisfied("a requested claim is missing or has another value")
        raise ClaimsNotSatisfied("no requested set of claims is present")
    out: dict[str, Any] = {}
    for i in chosen:
        for path, value in matched[i]:
            _put(out, path, value)
    return out


def _choose(query: CredentialQuery, matched: Mapping[int, Sequence[object]]) -> list[int] | None:
    """The claims queries (by position) to answer: all of them, or the first claim
    set that fits (§6.4.1, the Verifier's order of preference); None if none fits."""
    assert query.claims is not None
    if query.claim_sets is None:
        return list(matched) if all(matched.values()) else None
    by_id = {c.id: i for i, c in enumerate(query.claims)}
    for option in query.claim_sets:
        if all(matched[by_id[cid]] for cid in option):
            return [by_id[cid] for cid in option]
    return None


# --- the wallet's side -------------------------------------------------------------------


def resolve_path(claims: Any, path: Sequence[PathElement]) -> list[Any]:
    """Every value `path` selects in `claims` (§7.2); [] for none."""
    return [value for _, value in _select(claims, path)]


def select_claims(
    query: CredentialQuery, *, vct: str, claims: Mapping[str, Any]
) -> tuple[ClaimQuery, ...] | None:
    """The claims queries one stored credential answers, or None if it cannot (§6.4.1).

    The same choice `match_credential` makes on the verifier's side, so the
    wallet discloses exactly what the verifier will look for.
    """
    if query.vct_values is not None and vct not in query.vct_values:
        return None
    if query.claims is None:
        return ()
    matched = {i: _matches(c, claims) for i, c in enumerate(query.claims)}
    chosen = _choose(query, matched)
    return None if chosen is None else tuple(query.claims[i] for i in chosen)


def select_credentials(query: DCQLQuery, answerable: set[str]) -> tuple[list[str], bool]:
    """The Credential Query ids to answer, and whether every required set is met (§6.4.2)."""
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


def check_credential_sets(query: DCQLQuery, present: set[str]) -> None:
    """§6.4.2: every required credential set has an option fully present; without
    `credential_sets`, every Credential Query must be answered."""
    if query.credential_sets is None:
        if {c.id for c in query.credentials} - present:
            raise ClaimsNotSatisfied("a requested credential was not presented")
        return
    for cset in query.credential_sets:
        if cset.required and not any(set(option) <= present for option in cset.options):
            raise ClaimsNotSatisfied("a required set of credentials was not presented")
