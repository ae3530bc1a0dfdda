"""Named presentation request templates: what a counter may ask for, as DCQL.

The claim names and `vct` values follow the issuer's credential types
(`issuer/types/*.json`): `{vct_base}/vct/{vct_name}`. "age_over_18" asks for
the derived boolean only, never the birth date (data minimisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from openid4vc.dcql import DCQLQuery
from verifier.errors import TemplateUnknown

__all__ = ["TEMPLATES", "Template", "template_query"]


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    label: str
    vct_names: tuple[str, ...]
    claims: tuple[tuple[str, ...], ...]


TEMPLATES: Final = {
    t.name: t
    for t in (
        Template(
            "age_over_18",
            "Age over 18",
            ("civil-identity", "residence-permit", "social-security-card"),
            (("age_over_18",),),
        ),
        Template(
            "civil_identity",
            "Civil identity",
            ("civil-identity",),
            (("given_name",), ("family_name",), ("birthdate",), ("personal_id",)),
        ),
        Template(
            "medical_insurance",
            "Medical insurance",
            ("medical-insurance-card",),
            (
                ("given_name",),
                ("family_name",),
                ("insurance_number",),
                ("insurer",),
                ("valid_until",),
            ),
        ),
        Template(
            "social_security",
            "Social security",
            ("social-security-card",),
            (("given_name",), ("family_name",), ("social_security_number",)),
        ),
    )
}


def _claims(paths: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    return [{"path": list(p)} for p in paths]


def template_query(name: str, *, vct_base: str) -> DCQLQuery:
    """The DCQL query of template `name`; raise `verifier.template_unknown`."""
    template = TEMPLATES.get(name)
    if template is None:
        raise TemplateUnknown("no request template has this name")
    base = vct_base.rstrip("/")
    return DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": template.name,
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [f"{base}/vct/{v}" for v in template.vct_names]},
                    "claims": _claims(template.claims),
                }
            ]
        }
    )
