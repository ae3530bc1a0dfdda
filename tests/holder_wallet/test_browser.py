"""The wallet web app in Debian's Chromium (never a downloaded browser): receive, scan the
counter's QR (decoded from a screenshot with zxing-cpp), consent, approve; refuse once and
see that nothing was sent. Screenshots go to test-artifacts/wallet/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from holder_wallet.api.app import create_app
from holder_wallet.wallet import Wallet
from tests.holder_wallet.conftest import PASSPHRASE
from tests.holder_wallet.world import TX_CODE, VPSession, World
from tests.qr import decode_qr
from tests.servers import serve

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "wallet"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _scan_counter(browser: Browser, world: World, session: VPSession, name: str) -> str:
    counter = browser.new_page(viewport={"width": 800, "height": 900})
    counter.goto(f"{world.verifier.base}/counter/{session.sid}")
    png = counter.locator("#qr").screenshot()
    _shot(counter, name)
    counter.close()
    return decode_qr(png)


def test_receive_consent_approve_and_refuse(world: World, wallet: Wallet, browser: Browser) -> None:
    wallet.lock()
    with serve(create_app(wallet)) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(url + "/")
        assert page.url.endswith("/unlock")
        page.fill("#passphrase", "wrong passphrase")
        page.click("button[type=submit]")
        assert "not correct" in page.inner_text("[role=alert]")
        page.fill("#passphrase", PASSPHRASE)
        page.click("button[type=submit]")
        _shot(page, "01-empty-wallet")

        offer, _ = world.issuer.offer()
        page.goto(url + "/receive")
        page.fill("#offer", offer)
        page.click("button[type=submit]")
        assert "Civil Affairs Office" in page.inner_text("main")
        _shot(page, "02-offer")
        page.fill("#tx_code", TX_CODE)
        page.click("button[type=submit]")
        assert "Verified" in page.inner_text("main")
        _shot(page, "03-card-to-accept")
        page.click("button[value=accept]")
        assert "Civil identity" in page.inner_text("main")
        _shot(page, "04-wallet-with-card")

        uri, session = world.verifier.request()
        page.goto(url + "/present")
        page.fill("#request", _scan_counter(browser, world, session, "05-counter-qr"))
        page.click("button[type=submit]")
        consent = page.inner_text("#consent")
        assert "Town Hall Counter 3 asks" in consent
        assert "Given name" in consent and "Erika" in consent and "Over 18" in consent
        assert session.received == []
        _shot(page, "06-consent")
        page.click("button[value=approve]")
        assert "Sent" in page.inner_text("#message")
        _shot(page, "07-sent")
        assert session.verified is not None
        assert session.verified["civil"][0]["given_name"] == "Erika"

        refused_uri, refused = world.verifier.request()
        page.goto(url + "/present")
        page.fill("#request", _scan_counter(browser, world, refused, "08-second-counter-qr"))
        page.click("button[type=submit]")
        page.click("button[value=refuse]")
        assert "Nothing was sent" in page.inner_text("main")
        _shot(page, "09-refused")
        assert [r["vp_token"] for r in refused.received] == [None]
        assert refused_uri != uri

        page.goto(url + "/history")
        history = page.inner_text("main")
        assert "Town Hall Counter 3" in history and "Nothing shared" in history
        _shot(page, "10-history")
