"""govid issue 13 item 1: the counter page hands out nothing without a sign-in.

Each test performs the attack over real HTTP against a real verifier (on
SQLite and PostgreSQL) in front of the real test ledger:

- an anonymous `POST /counter` creates a request (signed by the counter's
  accredited DID) and `GET /counter/{id}` shows anyone's claims;
- a page session and an API session are read by someone who is not their owner;
- whoever sees the QR (its `request_uri`) reads the result or fetches the
  request again;
- a cross-site form posts with the counter's cookie (CSRF), the page is framed,
  a password is guessed without limit.
"""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text

from tests.qr import decode_qr
from tests.verifier.api.conftest import CLIENTS, PASSWORDS, Counter, csrf_of
from tests.verifier.api.test_presentations import Wallet
from tests.verifier.world import World, new_holder
from verifier.accounts import FREE_FAILURES

CLAIM = "Erika"  # the given name in every test credential: only a disclosure shows it


def _qr_text(page: str) -> str:
    match = re.search(r'id="qr"[^>]*src="data:image/png;base64,([^"]+)"', page)
    assert match is not None, "the page shows a QR code"
    return decode_qr(base64.b64decode(match.group(1)))


def _start_on_page(browser: httpx.Client, template: str = "civil_identity") -> tuple[str, str]:
    """Start a request on the counter page; return (its page URL, the QR's text)."""
    home = browser.get("/")
    assert home.status_code == 200, home.text
    created = browser.post("/counter", data={"template": template, "csrf": csrf_of(home.text)})
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    page = browser.get(location)
    assert page.status_code == 200
    return location, _qr_text(page.text)


def _answer(world: World, authorization_request: str) -> None:
    holder = new_holder()
    wallet = Wallet(world, holder, world.issue(holder=holder))
    request = wallet.fetch_request(authorization_request)
    answer = wallet.respond(request, disclose=[["given_name"], ["family_name"], ["birthdate"],
                                               ["personal_id"]])  # fmt: skip
    assert answer.status_code == 200, answer.text


def test_anonymous_counter_requests_create_and_show_nothing(counter: Counter) -> None:
    with counter.browser() as anonymous:
        # The attack: the form posted without signing in (with or without a guessed token).
        forms: list[dict[str, str]] = [
            {},
            {"template": "civil_identity"},
            {"template": "age_over_18", "csrf": "x"},
            {"template": "age_over_18", "kind": "offline"},
        ]
        for form in forms:
            answer = anonymous.post("/counter", data=form)
            assert answer.status_code == 303 and answer.headers["location"] == "/login"
        for path in ("/counter/anything/offline", "/logout"):
            answer = anonymous.post(path, data={"qr_text": "GOVIDVP1:x", "csrf": "x"})
            assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert counter.session_rows() == 0, "an anonymous POST /counter created a request"
        for path in ("/", "/counter/anything"):
            answer = anonymous.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/login"
        # No HTTP Basic prompt anywhere: the login is a page.
        login = anonymous.get("/login")
        assert login.status_code == 200 and 'name="password"' in login.text
        assert "www-authenticate" not in login.headers


def test_a_page_session_is_read_by_its_owner_only(world: World, counter: Counter) -> None:
    counter.add_user("alice")
    counter.add_user("bob")
    with counter.browser("alice") as alice, counter.browser("bob") as bob:
        location, qr = _start_on_page(alice)
        session_id = location.rsplit("/", 1)[-1]
        _answer(world, qr)
        # Bob, another desk's API client, and anyone else: not found, no claims.
        foreign = bob.get(location)
        assert foreign.status_code == 404 and CLAIM not in foreign.text
        with counter.api("desk-a") as desk:
            api = desk.get(f"/api/presentation-requests/{session_id}")
            assert api.status_code == 404 and CLAIM not in api.text
        # Alice sees the result, once.
        mine = alice.get(location)
        assert 'id="verdict">ACCEPTED' in mine.text and CLAIM in mine.text
        assert CLAIM not in alice.get(location).text


def test_an_api_session_is_read_by_its_client_only(world: World, counter: Counter) -> None:
    counter.add_user("alice")
    with counter.api("desk-a") as desk_a, counter.api("desk-b") as desk_b:
        created = desk_a.post("/api/presentation-requests", json={"template": "civil_identity"})
        assert created.status_code == 201
        body = created.json()
        _answer(world, body["authorization_request"])
        # The attack of the issue: the page showed any session, API-created ones included.
        with counter.browser("alice") as alice:
            page = alice.get(f"/counter/{body['id']}")
            assert page.status_code == 404 and CLAIM not in page.text
        other = desk_b.get(f"/api/presentation-requests/{body['id']}")
        assert other.status_code == 404 and CLAIM not in other.text
        mine = desk_a.get(f"/api/presentation-requests/{body['id']}").json()
        assert mine["status"] == "accepted"
        assert mine["disclosed"]["civil_identity"][0]["given_name"] == CLAIM


def test_the_qr_carries_a_one_time_reference_that_reads_nothing(
    world: World, counter: Counter
) -> None:
    counter.add_user("alice")
    with counter.browser("alice") as alice:
        location, qr = _start_on_page(alice)
        session_id = location.rsplit("/", 1)[-1]
        request_uri = parse_qs(urlsplit(qr).query)["request_uri"][0]
        handle = request_uri.rsplit("/", 1)[-1]
        assert session_id not in qr and handle != session_id and len(handle) >= 43

        # Whoever saw the QR tries the reference as a session id, on the page and the API.
        with counter.browser() as onlooker:
            assert onlooker.get(f"/counter/{handle}").headers["location"] == "/login"
        with counter.browser("alice") as same_desk:
            assert same_desk.get(f"/counter/{handle}").status_code == 404
        with counter.api("desk-a") as desk:
            assert desk.get(f"/api/presentation-requests/{handle}").status_code == 404

        # The first fetch (the citizen's wallet) gets the request object, a second is refused.
        holder = new_holder()
        wallet = Wallet(world, holder, world.issue(holder=holder))
        request = wallet.fetch_request(qr)
        again = httpx.get(request_uri)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_request"
        assert again.json()["govid_error"] == "request_uri.used"
        # The page no longer shows the spent QR.
        waiting = alice.get(location).text
        assert 'id="waiting"' in waiting and 'id="qr"' not in waiting
        answer = wallet.respond(request, disclose=[["given_name"], ["family_name"],
                                                   ["birthdate"], ["personal_id"]])  # fmt: skip
        assert answer.status_code == 200
        assert 'id="verdict">ACCEPTED' in alice.get(location).text


def test_concurrent_fetches_of_one_reference_give_one_request_object(counter: Counter) -> None:
    with counter.api("desk-a") as desk:
        body = desk.post("/api/presentation-requests", json={"template": "age_over_18"}).json()
    results: list[int] = []
    barrier = threading.Barrier(8)

    def fetch() -> None:
        barrier.wait()
        results.append(httpx.get(body["request_uri"], timeout=30).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [400] * 7


def test_page_forms_need_the_sign_ins_csrf_token(counter: Counter) -> None:
    counter.add_user("alice")
    counter.add_user("bob")
    with counter.browser("alice") as alice, counter.browser("bob") as bob:
        bobs_token = csrf_of(bob.get("/").text)
        # A cross-site form rides on Alice's cookie: no token, or another sign-in's token.
        for form in ({"template": "age_over_18"}, {"template": "age_over_18", "csrf": bobs_token}):
            refused = alice.post("/counter", data=form)
            assert refused.status_code == 403
        assert counter.session_rows() == 0
        assert alice.post("/logout", data={"csrf": bobs_token}).status_code == 403
        assert alice.get("/").status_code == 200, "a refused logout changes nothing"


def test_sign_in_cookie_headers_logout_and_disable(counter: Counter) -> None:
    counter.add_user("alice")
    with counter.browser() as browser:
        form = browser.get("/login")
        assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
        signed = browser.post(
            "/login",
            data={"username": "alice", "password": PASSWORDS["alice"], "csrf": csrf_of(form.text)},
        )
        assert signed.status_code == 303
        cookie = next(v for k, v in signed.headers.multi_items() if k == "set-cookie"
                      and v.startswith("govid_counter="))  # fmt: skip
        flags = {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")}
        assert {"httponly", "max-age", "path"} <= flags and "samesite=strict" in cookie.lower()
        assert "secure" not in flags  # http public URL: a Secure cookie would never come back
        home = browser.get("/")
        assert home.status_code == 200 and "alice" in home.text
        for name in ("content-security-policy", "x-frame-options", "cache-control"):
            assert name in home.headers
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
        assert home.headers["cache-control"] == "no-store"

        stolen = dict(browser.cookies)
        assert browser.post("/logout", data={"csrf": csrf_of(home.text)}).status_code == 303
        # The old cookie is dead on the server, not only forgotten by this browser.
        with httpx.Client(base_url=counter.url, cookies=stolen) as replay:
            assert replay.get("/").headers["location"] == "/login"

    with counter.browser("alice") as again:
        assert again.get("/").status_code == 200
        counter.accounts.set_disabled(
            "alice", disabled=True
        )  # `govid verifier counter-user disable`
        assert again.get("/").headers["location"] == "/login"
    with counter.browser() as browser:
        form = browser.get("/login")
        refused = browser.post(
            "/login",
            data={"username": "alice", "password": PASSWORDS["alice"], "csrf": csrf_of(form.text)},
        )
        assert refused.status_code == 403 and "www-authenticate" not in refused.headers


def test_https_deployments_get_secure_host_only_cookies(counter: Counter) -> None:
    counter.add_user("alice")
    counter.context.public_url = "https://counter.example"
    with counter.browser() as browser:
        form = browser.get("/login")
        login_cookie = form.headers["set-cookie"]
        assert login_cookie.startswith("__Host-govid_counter_login=") and "Secure" in login_cookie
        token = csrf_of(form.text)
        signed = browser.post(
            "/login",
            data={"username": "alice", "password": PASSWORDS["alice"], "csrf": token},
            # httpx keeps a Secure cookie for https only; the browser would send it back.
            headers={"Cookie": f"__Host-govid_counter_login={token}"},
        )
        assert signed.status_code == 303, signed.text
        cookie = next(v for k, v in signed.headers.multi_items() if k == "set-cookie"
                      and v.startswith("__Host-govid_counter="))  # fmt: skip
        assert "Secure" in cookie and "HttpOnly" in cookie and "Domain" not in cookie


def test_failed_sign_ins_are_limited_even_when_concurrent(counter: Counter) -> None:
    counter.add_user("alice")
    attackers = 12
    forms: list[tuple[httpx.Client, str]] = []
    for _ in range(attackers):  # many browsers, each with a valid sign-in form
        browser = httpx.Client(base_url=counter.url, timeout=60)
        forms.append((browser, csrf_of(browser.get("/login").text)))
    guesses: list[int] = []
    barrier = threading.Barrier(attackers)

    def guess(i: int) -> None:
        browser, token = forms[i]
        barrier.wait()
        answer = browser.post(
            "/login", data={"username": "alice", "password": f"guess-{i:08d}", "csrf": token}
        )
        guesses.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(attackers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for browser, _ in forms:
        browser.close()
    assert len(guesses) == attackers and set(guesses) <= {403, 429}
    # Each attempt is counted before its password is checked: of the concurrent
    # guesses, only those that found the count unchanged were checked at all.
    with counter.engine.connect() as connection:
        checked = connection.execute(
            text("SELECT failed_logins FROM verifier_counter_user WHERE username = 'alice'")
        ).scalar_one()
    assert checked == guesses.count(403) and checked <= FREE_FAILURES + 1

    with counter.browser() as browser:
        token = csrf_of(browser.get("/login").text)
        # Keep guessing one at a time: the account locks; even the right password waits.
        for i in range(FREE_FAILURES + 2):
            browser.post("/login", data={"username": "alice", "password": f"again-{i:08d}",
                                         "csrf": token})  # fmt: skip
        locked = browser.post(
            "/login", data={"username": "alice", "password": PASSWORDS["alice"], "csrf": token}
        )
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        assert "govid_counter=" not in locked.headers.get("set-cookie", "")
    assert counter.accounts.users()[0]["locked"] is True


@pytest.mark.parametrize("password", ["", "short", "x" * 1025])
def test_sign_in_with_malformed_input_is_a_refusal(counter: Counter, password: str) -> None:
    with counter.browser() as browser:
        token = csrf_of(browser.get("/login").text)
        answer = browser.post(
            "/login", data={"username": "No Such User!", "password": password, "csrf": token}
        )
        assert answer.status_code in (400, 403) and "www-authenticate" not in answer.headers
        assert "govid_counter=" not in answer.headers.get("set-cookie", "")


def test_api_clients_must_authenticate_even_with_no_page_users(counter: Counter) -> None:
    # No open API: every /api route needs a client's token.
    assert set(CLIENTS) == {"desk-a", "desk-b"}
    for path in ("/api/presentation-requests", "/api/offline-challenges", "/api/verify"):
        bare = httpx.post(counter.url + path, json={"template": "age_over_18"})
        # RFC 6750 §3.1: no access token on a protected resource is invalid_token.
        assert bare.status_code == 401 and bare.json()["error"] == "invalid_token"
        assert bare.headers["WWW-Authenticate"].startswith("Bearer")
    assert counter.session_rows() == 0
