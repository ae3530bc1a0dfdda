"""Holder selection: by path (claim + subtree + ancestors) and by predicate; public API order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import did.sd_jwt
from did.errors import GovidError
from did.keys import generate_private_key
from did.sd_jwt import disclosure_map, issue_sd_jwt, select_disclosures

ISSUER = generate_private_key("EdDSA")
ISSUED = issue_sd_jwt(
    {
        "name": "Ada",
        "address": {"street": "1 Main", "locality": "London", "geo": {"lat": 51}},
        "langs": ["en", "fr", "de"],
    },
    issuer_key=ISSUER,
    typ="example+sd-jwt",
    disclosable=[
        ("name",),
        ("address",),
        ("address", "street"),
        ("address", "geo"),
        ("address", "geo", "lat"),
        ("langs", 1),
        ("langs", 2),
    ],
    decoys=2,
)


def _names(paths: list[tuple[str | int, ...]]) -> set[tuple[str | int, ...]]:
    chosen = {d.encoded for d in select_disclosures(ISSUED, disclose=paths)}
    return {e.path for e in disclosure_map(ISSUED) if e.disclosure.encoded in chosen}


def test_disclosure_map_lists_original_paths() -> None:
    assert {e.path for e in disclosure_map(ISSUED)} == {
        ("name",),
        ("address",),
        ("address", "street"),
        ("address", "geo"),
        ("address", "geo", "lat"),
        ("langs", 1),
        ("langs", 2),
    }


def test_nested_claim_brings_its_parents() -> None:
    assert _names([("address", "geo", "lat")]) == {
        ("address",),
        ("address", "geo"),
        ("address", "geo", "lat"),
    }


def test_plain_claim_under_a_disclosable_parent_brings_the_parent() -> None:
    assert _names([("address", "locality")]) == {("address",)}


def test_path_brings_the_subtree() -> None:
    assert _names([("address",)]) == {
        ("address",),
        ("address", "street"),
        ("address", "geo"),
        ("address", "geo", "lat"),
    }


def test_array_element_and_unknown_paths() -> None:
    assert _names([("langs", 2), ("nope",)]) == {("langs", 2)}


def test_predicate_selection_is_per_disclosure() -> None:
    chosen = select_disclosures(ISSUED, disclose=lambda path, value: value == "fr")
    assert [d.value for d in chosen] == ["fr"]


def test_selection_keeps_issuer_order() -> None:
    everything = select_disclosures(ISSUED, disclose=[("address",), ("name",), ("langs",)])
    assert everything == ISSUED.disclosures


def test_bare_string_is_not_a_path() -> None:
    with pytest.raises(TypeError):
        select_disclosures(ISSUED, disclose=["name"])


@pytest.mark.parametrize(
    "paths",
    [[("missing",)], [()], [("langs", 7)], [("name", 0)], [("langs", -1)], [("langs", True)]],
)
def test_issuance_refuses_invalid_paths(paths: list[tuple[object, ...]]) -> None:
    with pytest.raises(GovidError) as exc:
        issue_sd_jwt({"name": "a", "langs": ["x"]}, issuer_key=ISSUER, typ=None, disclosable=paths)  # type: ignore[arg-type]
    assert exc.value.code == "sd_jwt.path_invalid"


def test_issuance_refuses_reserved_names() -> None:
    with pytest.raises(GovidError) as exc:
        issue_sd_jwt({"x": {"_sd": []}}, issuer_key=ISSUER, typ=None)
    assert exc.value.code == "sd_jwt.claim_name_reserved"


def test_public_api_is_sorted_and_complete() -> None:
    init = Path(did.sd_jwt.__file__)
    tree = ast.parse(init.read_text(encoding="utf-8"))
    names = next(
        [str(elt.value) for elt in node.value.elts if isinstance(elt, ast.Constant)]
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List)
    )
    assert names == sorted(names)
    assert all(hasattr(did.sd_jwt, name) for name in names)
