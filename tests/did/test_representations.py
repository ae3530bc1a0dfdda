"""DID document representations (DID Core §6) and Accept negotiation (RFC 9110 §12.5.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did.representations import (
    DID_JSON,
    DID_LD_JSON,
    DID_RESOLUTION,
    negotiate,
    parse_accept,
)

OFFERS = (DID_RESOLUTION, DID_LD_JSON, DID_JSON)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, DID_RESOLUTION),
        ("", DID_RESOLUTION),
        ("*/*", DID_RESOLUTION),
        ("application/*", DID_RESOLUTION),
        ("application/did+json", DID_JSON),
        ("application/did+ld+json", DID_LD_JSON),
        ("APPLICATION/DID+JSON", DID_JSON),  # media types are case-insensitive
        ("application/did+json; charset=utf-8", DID_JSON),
        ("application/did+json, */*", DID_JSON),  # the named type beats the wildcard
        ("*/*;q=0.1, application/did+ld+json", DID_LD_JSON),
        ("application/did+json;q=0.5, application/did+ld+json;q=0.9", DID_LD_JSON),
        ("application/did+json, application/did+ld+json", DID_LD_JSON),  # tie: server order
        ("text/html,application/xhtml+xml,*/*;q=0.8", DID_RESOLUTION),  # a browser
        ("application/did+json;q=0, */*", DID_RESOLUTION),  # q=0: never this one
        ("text/html", None),
        ("application/did+cbor", None),
        ("*/*;q=0", None),
        ("application/did+json;q=2", None),  # not a qvalue: the range is ignored
        ("garbage", None),
        ("*/json", None),
    ],
)
def test_negotiate(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept, OFFERS) == chosen


def test_parse_accept_reads_parameters_and_bounds_its_work() -> None:
    (only,) = parse_accept('application/ld+json;profile="https://w3id.org/did-resolution";q=0.7')
    assert (only.type, only.subtype, only.q) == ("application", "ld+json", 0.7)
    assert only.params == (("profile", '"https://w3id.org/did-resolution"'),)
    assert len(parse_accept(", ".join(["text/plain"] * 1000))) == 32


@given(st.text(max_size=300))
def test_negotiate_never_fails_and_answers_an_offer(header: str) -> None:
    assert negotiate(header, OFFERS) in (*OFFERS, None)
