"""Credential types: claims, JSON Schemas, display metadata and derived claims.

Each type is one file in `issuer/types/` (its id is the OpenID4VCI credential
configuration id): the claims with display labels, the JSON Schema (draft
2020-12) the claims must satisfy, a validity period, the claim naming the
subject (kept only as a salted hash, ARCHITECTURE "Credentials") and, when
the type carries a birth date, the derived `age_over_18` / `age_over_65`
claims a counter needs without the date itself.

Every subject claim is selectively disclosable; registered claims never are
(SD-JWT VC §2.2.2.3). The `vct` of a type is `{vct_base}/vct/{vct_name}`, and
its type metadata (SD-JWT VC §6) is served there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path as _FSPath
from typing import Any, Final

from jsonschema import Draft202012Validator, FormatChecker

from issuer.errors import ClaimsInvalid, CredentialTypeUnknown

__all__ = [
    "AGE_THRESHOLDS",
    "ClaimSpec",
    "CredentialType",
    "configuration_metadata",
    "credential_type",
    "credential_types",
    "derive_claims",
    "disclosable_paths",
    "sd_slots",
    "type_metadata",
    "validate_claims",
    "vct_for",
]

# The derived age claims (OpenID4VCI Appendix's `is_over_NN` idea, named as govid's issue 4 asks).
AGE_THRESHOLDS: Final = (18, 65)

Path = tuple[str | int | None, ...]  # None: every element of an array


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    path: Path
    label: str
    derived: bool = False


@dataclass(frozen=True, slots=True)
class CredentialType:
    id: str
    vct_name: str
    name: str
    description: str
    validity_days: int
    subject_id_claim: str
    claims: tuple[ClaimSpec, ...]
    schema: Mapping[str, Any]
    background_color: str
    text_color: str
    derive_age_from: str | None = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> CredentialType:
        Draft202012Validator.check_schema(obj["schema"])
        return cls(
            id=obj["id"],
            vct_name=obj["vct_name"],
            name=obj["name"],
            description=obj["description"],
            validity_days=int(obj["validity_days"]),
            subject_id_claim=obj["subject_id_claim"],
            claims=tuple(
                ClaimSpec(tuple(c["path"]), c["label"], bool(c.get("derived", False)))
                for c in obj["claims"]
            ),
            schema=obj["schema"],
            background_color=obj["background_color"],
            text_color=obj["text_color"],
            derive_age_from=obj.get("derive_age_from"),
        )


@cache
def credential_types() -> dict[str, CredentialType]:
    """Every credential type shipped in `issuer/types/`, by configuration id."""
    out: dict[str, CredentialType] = {}
    for entry in sorted((_FSPath(__file__).parent / "types").glob("*.json")):
        ctype = CredentialType.from_json(json.loads(entry.read_text(encoding="utf-8")))
        out[ctype.id] = ctype
    return out


def credential_type(configuration_id: str) -> CredentialType:
    found = credential_types().get(configuration_id)
    if found is None:
        raise CredentialTypeUnknown("no credential type has this configuration id")
    return found


def vct_for(ctype: CredentialType, vct_base: str) -> str:
    return f"{vct_base.rstrip('/')}/vct/{ctype.vct_name}"


@cache
def _validator(configuration_id: str) -> Draft202012Validator:
    schema = credential_type(configuration_id).schema
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate_claims(ctype: CredentialType, claims: object) -> None:
    """Raise `ClaimsInvalid` with the failing path unless `claims` satisfy the type's schema.

    The first error in instance-path order is reported, so the answer is
    stable; its message names the JSON Schema keyword, never the value.
    """
    errors = sorted(
        _validator(ctype.id).iter_errors(claims),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    if not errors:
        return
    first = errors[0]
    path = list(first.absolute_path)
    if first.validator == "required" and isinstance(first.validator_value, list):
        missing = [
            n for n in first.validator_value if isinstance(first.instance, dict)
            and n not in first.instance
        ]  # fmt: skip
        path += missing[:1]
    elif first.validator == "additionalProperties" and isinstance(first.instance, dict):
        allowed = first.schema.get("properties", {})
        path += sorted(k for k in first.instance if k not in allowed)[:1]
    where = "/".join(str(p) for p in path) or "(root)"
    raise ClaimsInvalid(f"claim '{where}' fails the schema rule '{first.validator}'", path=path)


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year: the birthday is 1 March
        return date(born.year + years, 3, 1)


def derive_claims(
    ctype: CredentialType, claims: Mapping[str, Any], *, today: date
) -> dict[str, Any]:
    """`claims` plus the derived `age_over_NN` booleans, computed for `today`.

    `today` is an argument (the issuance date), not the clock. Call after
    `validate_claims`: the birth date is then a valid ISO date.
    """
    out = dict(claims)
    if ctype.derive_age_from and isinstance(claims.get(ctype.derive_age_from), str):
        born = date.fromisoformat(claims[ctype.derive_age_from])
        for years in AGE_THRESHOLDS:
            out[f"age_over_{years}"] = _birthday(born, years) <= today
    return out


def disclosable_paths(
    ctype: CredentialType, claims: Mapping[str, Any]
) -> list[tuple[str | int, ...]]:
    """The claim paths to make selectively disclosable in this credential: every claim present.

    A `None` step in a type's path means every element of the array present.
    """
    out: list[tuple[str | int, ...]] = []

    def expand(node: Any, rest: Sequence[str | int | None], done: tuple[str | int, ...]) -> None:
        if not rest:
            out.append(done)
            return
        step, tail = rest[0], rest[1:]
        if step is None:
            if isinstance(node, list):
                for i, item in enumerate(node):
                    expand(item, tail, (*done, i))
        elif isinstance(node, dict) and isinstance(step, str) and step in node:
            expand(node[step], tail, (*done, step))

    for spec in ctype.claims:
        expand(claims, spec.path, ())
    return out


@cache
def _slots(configuration_id: str) -> dict[Path, int]:
    slots: dict[Path, int] = {}
    for spec in credential_type(configuration_id).claims:
        if spec.path and isinstance(spec.path[-1], str):  # a property, hidden in `_sd`
            slots[spec.path[:-1]] = slots.get(spec.path[:-1], 0) + 1
    return slots


def sd_slots(ctype: CredentialType, path: Sequence[str | int]) -> int:
    """How many claims of this type may sit in the `_sd` of the object at `path`.

    Every credential of the type pads that object's `_sd` to this count with
    decoy digests (RFC 9901 §4.2.5), so the count does not tell which optional
    claims (an address, a postal code) a citizen's credential holds. Array
    indices in `path` match the type's `None` ("every element") steps.
    """
    pattern = tuple(None if isinstance(step, int) else step for step in path)
    return _slots(ctype.id).get(pattern, 0)


def _display_path(path: Path) -> list[str | int | None]:
    return list(path)


def type_metadata(ctype: CredentialType, *, vct: str) -> dict[str, Any]:
    """SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc §6) for this type."""
    return {
        "vct": vct,
        "name": ctype.name,
        "description": ctype.description,
        "display": [
            {
                "locale": "en-US",
                "name": ctype.name,
                "description": ctype.description,
                "rendering": {
                    "simple": {
                        "background_color": ctype.background_color,
                        "text_color": ctype.text_color,
                    }
                },
            }
        ],
        "claims": [
            {
                "path": _display_path(c.path),
                "display": [{"locale": "en-US", "label": c.label}],
                "sd": "always",
            }
            for c in ctype.claims
        ],
    }


def configuration_metadata(
    ctype: CredentialType, *, vct: str, signing_algs: Sequence[str], proof_algs: Sequence[str]
) -> dict[str, Any]:
    """One `credential_configurations_supported` entry (OpenID4VCI 1.0 §12.2.4, Appendix A.3)."""
    return {
        "format": "dc+sd-jwt",
        "scope": ctype.id,
        "vct": vct,
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": list(signing_algs),
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": list(proof_algs)}},
        "credential_metadata": {
            "display": [
                {
                    "name": ctype.name,
                    "locale": "en-US",
                    "description": ctype.description,
                    "background_color": ctype.background_color,
                    "text_color": ctype.text_color,
                }
            ],
            "claims": [
                {"path": _display_path(c.path), "display": [{"name": c.label, "locale": "en-US"}]}
                for c in ctype.claims
            ],
        },
    }
