"""Web pages attack the wallet from the citizen's own Chromium (issue 13 items 8 and 15).

Debian's Chromium resolves `attacker.example` to 127.0.0.1 (as a rebinding
DNS server would), and an attacker's site on another loopback port serves
pages that post the right passphrase to the wallet by form and by `fetch`.
The wallet refuses them all and stays locked. A card with hostile issuer
colours is drawn with the defaults: no background image, no overlay.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, sync_playwright

from holder_wallet.api.app import create_app
from holder_wallet.card_style import DEFAULT_BACKGROUND
from holder_wallet.wallet import Wallet
from tests.holder_wallet.conftest import PASSPHRASE
from tests.holder_wallet.test_browser import CHROMIUM_ARGS
from tests.holder_wallet.test_card_colours import HOSTILE
from tests.holder_wallet.world import CARD_DISPLAY, TX_CODE, World
from tests.servers import serve

pytestmark = pytest.mark.slow

ATTACKER = "attacker.example"


@pytest.fixture
def browser() -> Iterator[Browser]:
    rebinding = f"--host-resolver-rules=MAP {ATTACKER} 127.0.0.1"
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, rebinding]
        )
        try:
            yield launched
        finally:
            launched.close()


def _attacker_site(wallet_url: str) -> FastAPI:
    app = FastAPI()
    unlock = wallet_url + "/unlock"

    @app.get("/form", response_class=HTMLResponse)
    def form() -> str:
        return (
            f'<form id="f" method="post" action="{unlock}">'
            f'<input name="passphrase" value="{PASSPHRASE}"></form>'
            "<script>document.getElementById('f').submit()</script>"
        )

    @app.get("/fetch", response_class=HTMLResponse)
    def fetch() -> str:
        body = f"new URLSearchParams({{passphrase: '{PASSPHRASE}'}})"
        return (
            f"<script>fetch('{unlock}', {{method: 'POST', mode: 'no-cors', body: {body}}})"
            ".finally(() => {document.title = 'sent'})</script>"
        )

    return app


def test_rebinding_and_cross_site_pages_cannot_use_the_wallet(
    wallet: Wallet, browser: Browser
) -> None:
    wallet.lock()
    with serve(create_app(wallet)) as url, serve(_attacker_site(url)) as attacker:
        page = browser.new_page()
        wallet_port = urlsplit(url).port
        attacker_port = urlsplit(attacker).port

        # DNS rebinding: the attacker's name now points at the wallet's port.
        answer = page.goto(f"http://{ATTACKER}:{wallet_port}/unlock")
        assert answer is not None and answer.status == 403
        assert "wallet.host_refused" in page.inner_text("main")

        # A form on the attacker's site posts the (right) passphrase.
        with page.expect_navigation(url=url + "/unlock"):
            page.goto(f"http://{ATTACKER}:{attacker_port}/form")
        assert "wallet.origin_refused" in page.inner_text("main")

        # A script on the attacker's site posts it with fetch (no-cors: no answer read).
        page.goto(f"http://{ATTACKER}:{attacker_port}/fetch")
        page.wait_for_function("document.title === 'sent'")

        assert not wallet.vault.unlocked

        # The citizen's own page still works.
        page.goto(url + "/unlock")
        page.fill("#passphrase", PASSPHRASE)
        page.click("button[type=submit]")
        assert page.url == url + "/"
        assert wallet.vault.unlocked


def test_hostile_card_colours_draw_no_image_and_no_overlay(
    world: World, wallet: Wallet, browser: Browser
) -> None:
    world.issuer.card_display = dict(HOSTILE)
    try:
        offer, _ = world.issuer.offer()
        wallet.receive(offer, TX_CODE)
    finally:
        world.issuer.card_display = dict(CARD_DISPLAY)
    wallet.lock()
    with serve(create_app(wallet)) as url:
        page = browser.new_page()
        page.goto(url + "/unlock")
        page.fill("#passphrase", PASSPHRASE)
        page.click("button[type=submit]")
        style = page.eval_on_selector(
            ".card",
            "e => { const s = getComputedStyle(e);"
            " return [s.backgroundImage, s.backgroundColor, s.position]; }",
        )
    red, green, blue = (int(DEFAULT_BACKGROUND[i : i + 2], 16) for i in (1, 3, 5))
    assert style == ["none", f"rgb({red}, {green}, {blue})", "static"]
