"""The agency page: sign in, create an offer (its QR decodes to the offer), find and revoke."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx

from tests.issuer.conftest import CIVIL_CLAIMS, Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt
from tests.qr import decode_qr


def test_agency_page_offer_qr_search_and_revoke(stack: Stack) -> None:
    civil = stack.agencies["civil"]
    assert httpx.get(stack.url + "/agency").status_code == 401
    with httpx.Client(
        base_url=stack.url, auth=(civil.client_id, civil.client_secret), timeout=30
    ) as web:
        page = web.get("/agency")
        assert page.status_code == 200 and "New offer" in page.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        forged = web.post(
            "/agency/offers",
            data={"credential_configuration_id": "civil_identity", "claims": "{}", "csrf": "0"},
        )
        assert forged.status_code == 403
        bad = web.post(
            "/agency/offers",
            data={
                "credential_configuration_id": "civil_identity",
                "claims": json.dumps({**CIVIL_CLAIMS, "birthdate": "yesterday"}),
                "csrf": csrf[1],
            },
        )
        assert "birthdate" in bad.text and 'role="alert"' in bad.text
        made = web.post(
            "/agency/offers",
            data={
                "credential_configuration_id": "civil_identity",
                "claims": json.dumps(CIVIL_CLAIMS),
                "csrf": csrf[1],
            },
        )
        qr = re.search(r'src="data:image/png;base64,([^"]+)"', made.text)
        tx_code = re.search(r'id="tx-code">(\d+)<', made.text)
        offer_id = re.search(r'id="offer-id">([^<]+)<', made.text)
        assert qr and tx_code and offer_id
        decoded = decode_qr(base64.b64decode(qr[1]))

        with httpx.Client(timeout=30) as http:
            exchange = Exchange.start(decoded, http)
            access = exchange.token(tx_code[1]).json()["access_token"]
            proof = proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=exchange.nonce())
            assert exchange.credential(access, [proof]).status_code == 200

        found = web.get("/agency/credentials", params={"subject": CIVIL_CLAIMS["personal_id"]})
        ids = re.findall(r"/agency/credentials/([^/]+)/revoke", found.text)
        assert len(ids) == 1
        revoked = web.post(
            f"/agency/credentials/{ids[0]}/revoke", data={"csrf": csrf[1]}, follow_redirects=True
        )
        assert '<td class="status">revoked</td>' in revoked.text
        assert offer_id[1] in str(revoked.url)


# --- issue 13 item 13: failure limits, per-session CSRF tokens, no framing -------------


def _from(address: str, **kwargs: Any) -> httpx.Client:
    """A client whose connections leave from `address` (any 127.0.0.0/8 address on Linux)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30, **kwargs)


def test_password_guesses_lock_the_account_from_any_address(stack: Stack) -> None:
    civil = stack.agencies["civil"]
    limit = stack.ctx.settings.login_failures_per_account
    # Each guess from another address: only the per-account limit can stop them.
    for i in range(limit):
        with _from(f"127.0.0.{10 + i}") as guesser:
            wrong = guesser.get(stack.url + "/agency", auth=(civil.client_id, f"guess-{i}"))
        assert wrong.status_code == 401
    with _from("127.0.0.99") as guesser:
        locked = guesser.get(stack.url + "/agency", auth=(civil.client_id, "one more"))
        # Locked means locked: the right secret is refused too, on the page and at /token.
        right = guesser.get(stack.url + "/agency", auth=(civil.client_id, civil.client_secret))
        token = guesser.post(
            stack.url + "/token",
            data={"grant_type": "client_credentials"},
            auth=(civil.client_id, civil.client_secret),
        )
    assert locked.status_code == right.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "www-authenticate" not in right.headers  # no prompt loop in the browser
    assert (token.status_code, token.json()["govid_error"]) == (429, "oauth.client_locked")
    # Another agency's account is not held back.
    social = stack.agencies["social"]
    with _from("127.0.0.99") as other:
        assert (
            other.get(stack.url + "/agency", auth=(social.client_id, social.client_secret))
        ).status_code == 200
    # The lock ends when the failures leave the window.
    stack.clock.advance(seconds=stack.ctx.settings.login_failure_window + 1)
    with _from("127.0.0.99") as staff:
        page = staff.get(stack.url + "/agency", auth=(civil.client_id, civil.client_secret))
    assert page.status_code == 200


def test_password_guesses_from_one_address_are_limited_across_accounts(stack: Stack) -> None:
    civil = stack.agencies["civil"]
    with _from("127.0.0.7") as guesser:
        # Spread over many client ids, so no per-account limit is reached: the
        # address's bucket (30 failures, refilled at 30 a minute) runs dry.
        codes = []
        for i in range(60):
            codes.append(
                guesser.get(stack.url + "/agency", auth=(f"civil-guess{i}", "x")).status_code
            )
            if codes[-1] == 429:
                break
        blocked = guesser.get(stack.url + "/agency", auth=(civil.client_id, civil.client_secret))
    assert codes[-1] == 429 and set(codes[:30]) == {401}
    assert blocked.status_code == 429
    with _from("127.0.0.8") as staff:  # another address is not held back
        page = staff.get(stack.url + "/agency", auth=(civil.client_id, civil.client_secret))
    assert page.status_code == 200


def _csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return found[1]


def test_csrf_tokens_belong_to_one_browser_session(stack: Stack) -> None:
    civil = stack.agencies["civil"]
    auth = (civil.client_id, civil.client_secret)
    offer = {"credential_configuration_id": "civil_identity", "claims": json.dumps(CIVIL_CLAIMS)}
    with (
        httpx.Client(base_url=stack.url, auth=auth, timeout=30) as alice,
        httpx.Client(base_url=stack.url, auth=auth, timeout=30) as mallory,
    ):
        first = alice.get("/agency")
        cookie = first.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/agency" in cookie
        token = _csrf_of(first)
        assert _csrf_of(alice.get("/agency")) == token  # stable within the session
        other = _csrf_of(mallory.get("/agency"))
        assert other != token  # and different in every other session
        # A token lifted from one session is refused in another, and without any session.
        assert mallory.post("/agency/offers", data={**offer, "csrf": token}).status_code == 403
        bare = httpx.post(stack.url + "/agency/offers", data={**offer, "csrf": token}, auth=auth)
        assert bare.status_code == 403
        assert alice.post("/agency/offers", data={**offer, "csrf": token}).status_code == 200
        # Sessions end: a day later the form is stale and the page starts a new session.
        stack.clock.advance(hours=9)
        assert alice.post("/agency/offers", data={**offer, "csrf": token}).status_code == 403
        renewed = alice.get("/agency")
        assert "set-cookie" in renewed.headers and _csrf_of(renewed) != token


def test_the_agency_page_cannot_be_framed(stack: Stack) -> None:
    from playwright.sync_api import sync_playwright
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from tests.servers import serve

    civil = stack.agencies["civil"]
    page = httpx.get(stack.url + "/agency", auth=(civil.client_id, civil.client_secret))
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert page.headers["x-frame-options"] == "DENY"
    assert httpx.get(stack.url + "/agency").headers["x-frame-options"] == "DENY"  # the 401 too

    def frameable(_: Request) -> HTMLResponse:
        return HTMLResponse("<p>an ordinary page of another site</p>")

    with serve(Starlette(routes=[Route("/", frameable)]), host="127.0.0.3") as elsewhere:

        def hostile(_: Request) -> HTMLResponse:
            # Clickjacking: the agency page in an invisible frame, over a decoy button.
            return HTMLResponse(
                f'<iframe id="victim" src="{stack.url}/agency" style="opacity:0"></iframe>'
                f'<iframe id="control" src="{elsewhere}/"></iframe><button>Win a prize</button>'
            )

        with (
            serve(Starlette(routes=[Route("/", hostile)]), host="127.0.0.2") as attacker,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"]
            )
            try:
                # The browser is signed in: only the headers stand between the attacker and
                # the page.
                context = browser.new_context(
                    http_credentials={"username": civil.client_id, "password": civil.client_secret}
                )
                tab = context.new_page()
                tab.goto(attacker + "/")
                tab.wait_for_load_state("load")
                control = tab.query_selector("#control")
                victim = tab.query_selector("#victim")
                assert control is not None and victim is not None
                shown = control.content_frame()
                assert shown is not None and "ordinary page" in shown.inner_text("body")
                blocked = victim.content_frame()
                assert blocked is not None
                # Chromium replaces a frame refused by frame-ancestors with its error page.
                assert blocked.url == "chrome-error://chromewebdata/"
                assert "New offer" not in blocked.inner_text("body")
            finally:
                browser.close()
