"""An issuer's display colours cannot carry CSS into the wallet's cards (issue 13 item 15).

The issuer double serves metadata whose colours smuggle declarations (a
tracking `url()`, a full-screen overlay); the wallet fetches it over HTTP,
receives the credential, and its web app draws the card. Only `#rgb`,
`#rrggbb` and `#rrggbbaa` pass; anything else is drawn in the default colours,
whether it came in now or sits in a record stored before the check.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from holder_wallet.api.app import create_app
from holder_wallet.card_style import DEFAULT_BACKGROUND, DEFAULT_TEXT, css_color
from holder_wallet.wallet import Wallet
from tests.holder_wallet.conftest import PASSPHRASE
from tests.holder_wallet.world import CARD_DISPLAY, TX_CODE, World
from tests.servers import serve

BEACON = "http://127.0.0.1:9/beacon"
HOSTILE = {
    "name": "Civil identity",
    "background_color": f"#fff; background-image: url({BEACON})",
    "text_color": "red;position:fixed;inset:0;z-index:9",
}
DEFAULT_STYLE = f'style="background: {DEFAULT_BACKGROUND}; color: {DEFAULT_TEXT}"'


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("#abc", True),
        ("#12355b", True),
        ("#12355bcc", True),
        ("#ABCDEF", True),
        ("#abcd", False),  # CSS allows #rgba; the issue does not
        ("red", False),
        ("rgb(1,2,3)", False),
        ("#12355b;", False),
        ("#12355b\n", False),
        ("#12355b; background: url(x)", False),
        ("", False),
        (None, False),
        (0x12355B, False),
    ],
)
def test_only_hexadecimal_colours_pass(value: object, safe: bool) -> None:
    assert css_color(value, "#000") == (value if safe else "#000")


@pytest.fixture
def hostile_issuer(world: World) -> Iterator[World]:
    world.issuer.card_display = dict(HOSTILE)
    try:
        yield world
    finally:
        world.issuer.card_display = dict(CARD_DISPLAY)


@contextlib.contextmanager
def _signed_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers={"Origin": url}, timeout=30) as web:
        assert web.post("/unlock", data={"passphrase": PASSPHRASE}).status_code == 303
        yield web


def test_hostile_issuer_colours_are_replaced_by_the_defaults(
    hostile_issuer: World, wallet: Wallet
) -> None:
    offer, _ = hostile_issuer.issuer.offer()
    received = wallet.redeem(wallet.preview_offer(offer), TX_CODE)
    display = received[0].record["display"]
    assert (display["background_color"], display["text_color"]) == (
        DEFAULT_BACKGROUND,
        DEFAULT_TEXT,
    )
    [fresh] = wallet.accept(received)
    # A record an older wallet stored unchecked is drawn safely too.
    unchecked = dataclasses.replace(
        received[0], record={**received[0].record, "display": {**display, **HOSTILE}}
    )
    [stored] = wallet.accept([unchecked])

    with serve(create_app(wallet)) as url, _signed_in(url) as web:
        pages = [web.get("/").text] + [web.get(f"/credentials/{c}").text for c in (fresh, stored)]
    for html in pages:
        assert DEFAULT_STYLE in html
        assert "url(" not in html and "position" not in html and BEACON not in html
