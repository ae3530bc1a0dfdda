"""Disclosure encoding and digests against RFC 9901 §4.2 and the examples' Disclosures."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did.encoding import b64url_encode
from did.errors import GovidError
from did.sd_jwt import Disclosure, compact_json, rfc_example_json, sd_digest
from tests.conftest import VECTORS

PRIMITIVES = "sd-jwt/rfc9901-draft22/disclosure_primitives.json"
EXAMPLES = sorted(
    p.parent.name for p in (VECTORS / "sd-jwt/rfc9901-draft22/examples").glob("*/disclosures.json")
)


def _raw_utf8_json(array: list[Any]) -> bytes:
    # The hand-written §4.2.1 example spells non-ASCII as raw UTF-8.
    return json.dumps(array, ensure_ascii=False).encode()


def test_rfc9901_4_2_1_object_property(vector: Callable[[str], Any]) -> None:
    v = vector(PRIMITIVES)["object_property"]
    salt, name, value = v["array"]
    made = Disclosure.create(salt=salt, name=name, value=value, encoder=_raw_utf8_json)
    assert made.encoded == v["disclosure_published"]
    assert made.digest() == v["digest_sha256_published"]  # §4.2.3
    parsed = Disclosure.parse(v["disclosure_published"])
    assert (parsed.salt, parsed.name, parsed.value) == (salt, name, value)
    assert not parsed.is_array_element


def test_rfc9901_4_2_1_equivalent_spellings_have_their_own_digests(
    vector: Callable[[str], Any],
) -> None:
    v = vector(PRIMITIVES)["object_property"]
    for style, encoded in v["equivalent_encodings_published"].items():
        parsed = Disclosure.parse(encoded)
        assert (parsed.salt, parsed.name, parsed.value) == tuple(v["array"]), style
        assert parsed.digest() == v["equivalent_encodings_digests_computed"][style], style
        assert parsed.digest() != v["digest_sha256_published"]


def test_rfc9901_4_2_2_array_element(vector: Callable[[str], Any]) -> None:
    v = vector(PRIMITIVES)["array_element"]
    salt, value = v["array"]
    made = Disclosure.create(salt=salt, name=None, value=value, encoder=rfc_example_json)
    assert made.encoded == v["disclosure_published"]
    assert made.digest() == v["digest_sha256_computed"]
    assert Disclosure.parse(v["disclosure_published"]).is_array_element


def test_rfc9901_4_2_6_recursive_array_elements(vector: Callable[[str], Any]) -> None:
    v = vector(PRIMITIVES)["recursive_disclosures_4_2_6"]
    for element in v["array_elements"]:
        salt, value = element["array"]
        made = Disclosure.create(salt=salt, name=None, value=value, encoder=compact_json)
        assert made.encoded == element["disclosure_reconstructed_compact_json"]
        assert made.digest() == element["digest_published"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_rfc9901_example_disclosures(example: str, vector: Callable[[str], Any]) -> None:
    for entry in vector(f"sd-jwt/rfc9901-draft22/examples/{example}/disclosures.json"):
        parsed = Disclosure.parse(entry["disclosure"])
        assert sd_digest(entry["disclosure"]) == entry["digest_sha256"]
        assert parsed.digest() == entry["digest_sha256"]
        decoded = entry["decoded"]
        expected_name = decoded[1] if len(decoded) == 3 else None
        assert (parsed.salt, parsed.name, parsed.value) == (
            decoded[0],
            expected_name,
            decoded[-1],
        )
        # Our encoder, in the examples' spelling, gives back the very same string.
        again = Disclosure.create(
            salt=parsed.salt, name=parsed.name, value=parsed.value, encoder=rfc_example_json
        )
        assert again.encoded == entry["disclosure"]


def test_examples_were_found() -> None:
    assert len(EXAMPLES) >= 10
    assert (VECTORS / "sd-jwt/rfc9901-draft22/examples").is_dir()


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'["salt"]',
        b'["salt", "a", 1, 2]',
        b'{"salt": "a"}',
        b'[1, "a", 1]',
        b'["salt", 1, 1]',
        b'["salt", "a", NaN]',
        b'["salt", {"a": 1, "a": 2}]',
        b"not json",
        b'["salt", "\xff"]',
    ],
)
def test_malformed_disclosures(raw: bytes) -> None:
    with pytest.raises(GovidError) as exc:
        Disclosure.parse(b64url_encode(raw))
    assert exc.value.code == "sd_jwt.disclosure_malformed"


@pytest.mark.parametrize("text", ["", "WyJh=", "W*J", "a"])
def test_malformed_base64(text: str) -> None:
    with pytest.raises(GovidError) as exc:
        Disclosure.parse(text)
    assert exc.value.code == "sd_jwt.disclosure_malformed"


def test_reserved_names_cannot_be_created() -> None:
    for name in ("_sd", "..."):
        with pytest.raises(ValueError):
            Disclosure.create(salt="s", name=name, value=1)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    salt=st.text(min_size=1),
    name=st.one_of(st.none(), st.text()),
    value=_json,
    spelling=st.sampled_from([compact_json, rfc_example_json]),
)
def test_create_parse_round_trip(
    salt: str, name: str | None, value: Any, spelling: Callable[[list[Any]], bytes]
) -> None:
    if name in ("_sd", "..."):
        name = "x"
    made = Disclosure.create(salt=salt, name=name, value=value, encoder=spelling)
    parsed = Disclosure.parse(made.encoded)
    assert parsed == made
    assert parsed.digest() == sd_digest(made.encoded)
