"""The citizen's journey through the real services of one `govid up`, in Debian's Chromium.

Issue 6 "Tests" and issue 5 "Done when": the civil agency creates an offer on
its agency page (its QR decoded from a screenshot with zxing-cpp); the citizen
unlocks the stack's wallet web app with the passphrase from `stack.json`,
pastes the offer link, enters the transaction code and sees the credential
card; the counter's staff sign in to the counter page with the login from
`stack.json` (it shows nothing to anyone else), ask for "Age over 18" and the
page shows a QR, decoded from a screenshot; the citizen gives that request to
the wallet, sees who asks for what, approves, and the counter page shows
ACCEPTED with only that claim. A second request ("Civil identity") is
refused: the counter is told the citizen declined (no presentation reached
the verifier) and the wallet's history records the refusal with nothing shared.

Never a downloaded browser: Playwright drives `/usr/bin/chromium`. Screenshots
of every screen go to test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import Stack
from tests.qr import decode_qr

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

T = TypeVar("T")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 60_000  # generous: a deadline, never a measured time
PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 820, "height": 1000}
DESKTOP: ViewportSize = {"width": 1280, "height": 1000}  # the agency's staff

CITIZEN = {
    "personal_id": "E2E-0001",
    "given_name": "Thuy-Linh",
    "family_name": "Nguyen-Tran",
    "birthdate": "1991-07-23",
    "nationality": "VN",
}


# Values that only a disclosure could show (a hyphen never occurs in a base58 DID).
WITHHELD = ("Thuy-Linh", "Nguyen-Tran", "1991-07-23", "E2E-0001")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _retrying(action: Callable[[], T]) -> T:
    """Run a page action again if the page navigated under it (until the deadline).

    The counter page reloads itself every two seconds while it waits for the
    wallet; a reload in the middle of a screenshot or a script is not a failure.
    """
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        try:
            return action()
        except PlaywrightError:
            if time.monotonic() > deadline:
                raise


def _shot(page: Page, name: str) -> None:
    """Save a full-page screenshot; the page must not scroll sideways on its device."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take() -> bool:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        return bool(wide)

    assert not _retrying(take), f"{name}: the page is wider than the screen"


def _decode_qr(image: Locator) -> str:
    """Screenshot the QR image and decode it with a real decoder (zxing-cpp)."""
    png = _retrying(lambda: image.screenshot(timeout=WAIT_MS))
    return decode_qr(png)


def _agency_offer(browser: Browser, stack: Stack) -> tuple[str, str]:
    """The civil agency's staff create an offer on the agency page: (offer link, tx code)."""
    civil = stack.issuer("civil")
    context = browser.new_context(
        viewport=DESKTOP,
        http_credentials={"username": civil["client_id"], "password": civil["client_secret"]},
    )
    try:
        page = context.new_page()
        page.goto(civil["url"] + "/agency")
        page.select_option("select[name=credential_configuration_id]", "civil_identity")
        page.fill("textarea[name=claims]", json.dumps(CITIZEN))
        _shot(page, "01-agency-new-offer")
        page.click("button:has-text('Create offer')")
        page.locator("#offer").wait_for(timeout=WAIT_MS)
        assert "Civil identity" in page.inner_text("#offer")
        _shot(page, "02-agency-offer-qr")
        offer = _decode_qr(page.locator("#offer-qr"))
        tx_code = page.inner_text("#tx-code").strip()
    finally:
        context.close()
    assert offer.startswith("openid-credential-offer://?credential_offer_uri=")
    assert tx_code.isdigit()
    return offer, tx_code


def _counter_sign_in(counter: Page, stack: Stack) -> None:
    """The counter's staff sign in on the login page (no browser prompt: a form)."""
    counter.goto(stack.counter_page)
    counter.wait_for_url("**/login", timeout=WAIT_MS)
    _shot(counter, "07b-counter-sign-in")
    login = stack.counter_login
    counter.fill("#username", login["username"])
    counter.fill("#password", login["password"])
    counter.click("button[type=submit]")
    counter.locator("#signed-in").wait_for(timeout=WAIT_MS)


def _counter_request(counter: Page, stack: Stack, template_label: str, name: str) -> str:
    """The counter chooses a template on its page; return the request its QR shows."""
    counter.goto(stack.counter_page)
    counter.click(f"button:has-text('{template_label}')")
    counter.locator("#qr").wait_for(timeout=WAIT_MS)
    _shot(counter, name)
    request = _decode_qr(counter.locator("#qr"))
    assert request.startswith("openid4vp://?client_id=decentralized_identifier%3Adid%3Agovid")
    return request


def _give_request(wallet: Page, stack: Stack, request: str) -> str:
    """The citizen pastes the scanned request into the wallet; return the consent text."""
    wallet.goto(stack.wallet + "/present")
    wallet.fill("#request", request)
    wallet.click("button[type=submit]")
    wallet.locator("#consent").wait_for(timeout=WAIT_MS)
    return wallet.inner_text("#consent")


def _outcome(entry: str) -> str:
    """A history entry begins with "<when> · <outcome>"."""
    return entry.splitlines()[0].rsplit("\u00b7", 1)[-1].strip()


def test_receive_present_approve_and_refuse(stack: Stack, browser: Browser) -> None:
    offer, tx_code = _agency_offer(browser, stack)

    # The citizen's phone: the wallet web app of the stack, locked until the passphrase.
    phone = browser.new_context(viewport=PHONE)
    tablet = browser.new_context(viewport=TABLET)
    try:
        wallet = phone.new_page()
        wallet.goto(stack.wallet + "/")
        assert wallet.url.endswith("/unlock")
        _shot(wallet, "03-wallet-locked")
        wallet.fill("#passphrase", stack.description["wallet_passphrase"])
        wallet.click("button[type=submit]")
        wallet.wait_for_url(stack.wallet + "/", timeout=WAIT_MS)
        assert "Your credentials" in wallet.inner_text("main")
        _shot(wallet, "04-wallet-unlocked")

        # Receive: paste the offer link, enter the transaction code, see the card, accept.
        wallet.goto(stack.wallet + "/receive")
        wallet.fill("#offer", offer)
        wallet.click("button[type=submit]")
        wallet.locator("#tx_code").wait_for(timeout=WAIT_MS)
        assert "Civil Affairs Agency offers you" in wallet.inner_text("main")
        _shot(wallet, "05-wallet-offer-tx-code")
        wallet.fill("#tx_code", tx_code)
        wallet.click("button[type=submit]")
        wallet.locator("button[value=accept]").wait_for(timeout=WAIT_MS)
        card = wallet.inner_text("main")
        assert "Verified" in card
        assert "Civil identity" in card and "Thuy-Linh" in card and "Nguyen-Tran" in card
        _shot(wallet, "06-wallet-card-to-accept")
        wallet.click("button[value=accept]")
        cards = wallet.locator("[data-credential]")
        cards.first.wait_for(timeout=WAIT_MS)
        assert cards.count() == 1
        assert "Civil identity" in cards.first.inner_text()
        assert "E2E-0001" in cards.first.inner_text()
        _shot(wallet, "07-wallet-with-card")

        # Present: the counter asks for "Age over 18"; the citizen scans, reads, approves.
        counter = tablet.new_page()
        _counter_sign_in(counter, stack)
        request = _counter_request(counter, stack, "Age over 18", "08-counter-qr-age-over-18")
        counter_session = counter.url
        consent = _give_request(wallet, stack, request)
        assert stack.counter_did in consent, "the consent names who asks"
        assert "accredited verifier" in consent
        assert "Age over 18: True" in consent
        assert "Civil identity" in consent and "Civil Affairs Agency" in consent
        for withheld in WITHHELD:
            assert withheld not in consent, "only the requested claim is listed"
        _shot(wallet, "09-wallet-consent-age-over-18")
        wallet.click("button[value=approve]")
        wallet.locator("#message").wait_for(timeout=WAIT_MS)
        assert "Sent" in wallet.inner_text("#message")
        _shot(wallet, "10-wallet-sent")

        # The counter page refreshes itself until the verdict is there.
        verdict = counter.locator("#verdict")
        verdict.wait_for(timeout=WAIT_MS)
        assert counter.url == counter_session
        assert verdict.inner_text().strip() == "ACCEPTED"
        claims = counter.inner_text("#claims")
        assert "age_over_18" in claims and "True" in claims
        for withheld in (*WITHHELD, "given_name"):
            assert withheld not in claims, "the counter sees only what it asked for"
        _shot(counter, "11-counter-accepted")
        # Someone else's browser, with the session's address: the sign-in page, nothing more.
        stranger = browser.new_context(viewport=TABLET)
        try:
            other = stranger.new_page()
            other.goto(counter_session)
            assert other.url.endswith("/login")
            assert "age_over_18" not in other.inner_text("body")
        finally:
            stranger.close()

        # Refuse: the counter asks for the whole civil identity; the citizen says no.
        request = _counter_request(counter, stack, "Civil identity", "12-counter-qr-civil")
        refused_session = counter.url
        assert refused_session != counter_session
        consent = _give_request(wallet, stack, request)
        for label in ("Given name", "Family name", "Date of birth", "Personal ID"):
            assert label in consent
        _shot(wallet, "13-wallet-consent-civil-identity")
        wallet.click("button[value=refuse]")
        wallet.locator("#message").wait_for(timeout=WAIT_MS)
        assert "Nothing was sent" in wallet.inner_text("#message")
        _shot(wallet, "14-wallet-refused")

        # The wallet told the counter it declined (OpenID4VP §8.5): the counter
        # has a clear answer at once, and no claim reached it.
        counter.goto(refused_session)
        assert counter.inner_text("#verdict") == "REFUSED"
        assert "declined" in counter.inner_text("#reason")
        assert not any(value in counter.inner_text("body") for value in WITHHELD)
        _shot(counter, "15-counter-declined")

        # The wallet's own history: one presentation with the claim, one refusal.
        wallet.goto(stack.wallet + "/history")
        entries = wallet.locator(".panel")
        assert entries.count() == 2
        history = {_outcome(e): e for e in (entries.nth(i).inner_text() for i in range(2))}
        assert set(history) == {"sent", "declined"}
        assert "Nothing shared" in history["declined"]
        assert "Shared: Age over 18" in history["sent"]
        assert all(stack.counter_did in e for e in history.values())
        _shot(wallet, "16-wallet-history")
    finally:
        phone.close()
        tablet.close()
