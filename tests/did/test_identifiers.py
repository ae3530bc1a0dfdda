"""DID and DID URL syntax (DID Core 1.0 §3.1, §3.2): vectors, edge cases, properties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did.errors import GovidError, InvalidDID, InvalidDIDURL
from did.identifiers import (
    DID,
    DID_RE,
    DID_URL_RE,
    DIDURL,
    MAX_DID_LENGTH,
    MAX_DID_URL_LENGTH,
)

VALID_DIDS = [
    "did:example:123456789abcdefghi",
    "did:web:w3c-ccg.github.io:user:alice",
    "did:web:example.com%3A3000:user:alice",
    "did:web:example.com%3a3000",  # HEXDIG is case-insensitive (RFC 5234 §2.3)
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:a1:b",
    "did:x::a",  # *( *idchar ":" ) allows an empty segment
    "did:x:.-_",
    "did:0:0",
]

INVALID_DIDS = {
    "uppercase-method": "did:Example:1",
    "empty-msid": "did:example:",
    "trailing-colon": "did:example:a:",
    "empty-method": "did::1",
    "space": "did:ex ample:1",
    "short-pct": "did:ex:a%2",
    "bad-pct": "did:ex:a%zz",
    "uppercase-scheme": "DID:ex:1",
    "with-path": "did:ex:a/b",
    "with-fragment": "did:ex:a#f",
    "with-query": "did:ex:a?q",
    "non-ascii": "did:ex:é",
    "trailing-newline": "did:ex:a\n",
    "underscore-method": "did:example_222:1",
    "no-method": "did:example_222",  # the DID test suite's invalidDid input
    "empty": "",
    "not-did": "urn:uuid:1",
    "too-long": "did:ex:" + "a" * MAX_DID_LENGTH,
}


@pytest.mark.parametrize("text", VALID_DIDS)
def test_dids_parse_and_print_back(text: str) -> None:
    did = DID.parse(text)
    assert str(did) == text
    assert did.method == text.split(":")[1]


def test_did_parts() -> None:
    did = DID.parse("did:web:example.com%3A3000:user:alice")
    assert (did.method, did.method_specific_id) == ("web", "example.com%3A3000:user:alice")


@pytest.mark.parametrize("text", INVALID_DIDS.values(), ids=INVALID_DIDS.keys())
def test_invalid_dids_raise_did_invalid(text: str) -> None:
    with pytest.raises(InvalidDID) as info:
        DID.parse(text)
    assert info.value.code == "did.invalid"


def test_longest_did_is_accepted() -> None:
    text = "did:ex:" + "a" * (MAX_DID_LENGTH - len("did:ex:"))
    assert str(DID.parse(text)) == text


def test_error_message_does_not_echo_input() -> None:
    secret = "did:ex:PERSONAL DATA"
    with pytest.raises(InvalidDID) as info:
        DID.parse(secret)
    assert "PERSONAL" not in str(info.value)


def test_non_string_is_invalid() -> None:
    with pytest.raises(InvalidDID):
        DID.parse(123)  # type: ignore[arg-type]


# --- DID URLs -----------------------------------------------------------------

VALID_URLS: list[tuple[str, str, str | None, str | None]] = [
    ("did:ex:1", "", None, None),
    ("did:ex:1#key-1", "", None, "key-1"),
    ("did:ex:1#", "", None, ""),
    ("did:ex:1/", "/", None, None),
    ("did:ex:1/path/to/x", "/path/to/x", None, None),
    ("did:ex:1//a", "//a", None, None),
    ("did:ex:1?versionId=1", "", "versionId=1", None),
    ("did:ex:1/p?q=1&r=2#f/?x", "/p", "q=1&r=2", "f/?x"),
    (
        "did:ex:1?service=agent&relativeRef=%2Fpath%2Fto%2Fresource",
        "",
        "service=agent&relativeRef=%2Fpath%2Fto%2Fresource",
        None,
    ),
    ("did:ex:1#a:b@c!$&'()*+,;=~", "", None, "a:b@c!$&'()*+,;=~"),
]


@pytest.mark.parametrize(("text", "path", "query", "fragment"), VALID_URLS)
def test_did_urls_parse_and_print_back(
    text: str, path: str, query: str | None, fragment: str | None
) -> None:
    url = DIDURL.parse(text)
    assert str(url) == text
    assert url.did == DID.parse("did:ex:1")
    assert (url.path, url.query, url.fragment) == (path, query, fragment)


INVALID_URLS = {
    "space-in-fragment": "did:ex:1#a b",
    "hash-in-fragment": "did:ex:1#a#b",
    "bad-pct-in-path": "did:ex:1/%zz",
    "invalid-did": "did:Ex:1#a",
    "bracket-in-query": "did:ex:1?[x]",
    "relative-path": "/path",
    "relative-query": "?versionId=1",
    "empty": "",
    "too-long": "did:ex:1#" + "a" * MAX_DID_URL_LENGTH,
    "did-part-too-long": "did:ex:" + "a" * MAX_DID_LENGTH + "#x",
    "dereferencer-suite-invalid": "did:example_333",
}


@pytest.mark.parametrize("text", INVALID_URLS.values(), ids=INVALID_URLS.keys())
def test_invalid_did_urls_raise_did_url_invalid(text: str) -> None:
    with pytest.raises(InvalidDIDURL) as info:
        DIDURL.parse(text)
    assert info.value.code == "did_url.invalid"


def test_fragment_reference_resolves_against_base() -> None:
    base = DID.parse("did:ex:1")
    url = DIDURL.parse("#key-1", base=base)
    assert url == DIDURL.parse("did:ex:1#key-1")
    assert DIDURL.is_relative("#key-1") and not DIDURL.is_relative("did:ex:1#key-1")
    assert url.relative_to(base) == "#key-1"
    assert url.relative_to(DID.parse("did:ex:2")) == "did:ex:1#key-1"


def test_fragment_reference_without_base_is_refused() -> None:
    with pytest.raises(InvalidDIDURL):
        DIDURL.parse("#key-1")


def test_fragment_reference_with_bad_fragment_is_refused() -> None:
    with pytest.raises(InvalidDIDURL):
        DIDURL.parse("#a b", base=DID.parse("did:ex:1"))


def test_with_fragment_and_bare_did() -> None:
    url = DIDURL.parse("did:ex:1/p?q")
    assert url.is_bare_did is False
    assert DIDURL.parse("did:ex:1").is_bare_did
    assert str(url.with_fragment("k")) == "did:ex:1/p?q#k"
    assert str(DID.parse("did:ex:1").with_fragment("0")) == "did:ex:1#0"
    with pytest.raises(InvalidDIDURL):
        url.with_fragment("a#b")
    with pytest.raises(InvalidDIDURL):
        url.with_fragment("a" * MAX_DID_URL_LENGTH)


def test_did_test_suite_parameters_are_did_urls(vector: Callable[[str], Any]) -> None:
    suite = vector("did-test-suite/implementations/did-example-didwg.json")
    for did in suite["dids"]:
        assert str(DID.parse(did)) == did
    for text in suite["didParameters"].values():
        assert str(DIDURL.parse(text)) == text


def test_did_test_suite_dereferencer_inputs(vector: Callable[[str], Any]) -> None:
    suite = vector("did-test-suite/implementations/dereferencer-example-didwg.json")
    outcomes = suite["expectedOutcomes"]
    for index, execution in enumerate(suite["executions"]):
        text = execution["input"]["didUrl"]
        if index in outcomes["invalidDidUrlErrorOutcome"]:
            with pytest.raises(InvalidDIDURL):
                DIDURL.parse(text)
        else:
            assert str(DIDURL.parse(text)) == text


# --- properties ---------------------------------------------------------------

_dids = st.from_regex(DID_RE, fullmatch=True).filter(lambda s: len(s) <= MAX_DID_LENGTH)
_urls = st.from_regex(DID_URL_RE, fullmatch=True).filter(lambda s: len(s) <= 1000)


@given(_dids)
def test_every_valid_did_round_trips(text: str) -> None:
    assert str(DID.parse(text)) == text
    assert str(DIDURL.parse(text)) == text


@given(_urls)
def test_every_valid_did_url_round_trips(text: str) -> None:
    url = DIDURL.parse(text)
    assert str(url) == text
    assert DIDURL.parse(str(url)) == url


def _parses_or_raises_syntax_error(text: str) -> None:
    parsers: tuple[tuple[Callable[[str], object], type[GovidError]], ...] = (
        (DID.parse, InvalidDID),
        (DIDURL.parse, InvalidDIDURL),
    )
    for parse, error in parsers:
        try:
            value = parse(text)
        except GovidError as exc:
            assert type(exc) is error
        else:
            assert str(value) == text


@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_only_the_syntax_errors(text: str) -> None:
    _parses_or_raises_syntax_error(text)


@given(st.text(alphabet="did:ex%0aA/?#._-~@ é", max_size=60).map(lambda s: "did:" + s))
def test_near_miss_text_parses_or_raises_only_the_syntax_errors(text: str) -> None:
    _parses_or_raises_syntax_error(text)
