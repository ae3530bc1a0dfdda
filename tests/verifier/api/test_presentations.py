"""The OpenID4VP cross-device flow over real HTTP, driven by an independent wallet client.

The wallet side here uses only httpx, `did.sd_jwt` and the registry client: it
fetches the request object by reference, checks its signature against the
verifier's DID on the ledger and the verifier's accreditation, and answers
with `direct_post`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from did.identifiers import DIDURL
from did.jose import parse_unverified_jws, verify_jwt
from did.keys import PrivateKey
from registry.client import RegistryClient
from service.database import make_engine
from service.oauth import hash_client_secret
from tests.qr import decode_qr
from tests.servers import serve
from tests.verifier.world import World, new_holder
from verifier.api.app import create_app
from verifier.lookups import CachingLookups
from verifier.offline import encode_offline
from verifier.service import VerifierContext

SECRET = "s3cret-for-tests-only-0123456789"


@dataclass
class Verifier:
    url: str
    http: httpx.Client  # authenticated as the counter
    context: VerifierContext


@pytest.fixture
def verifier(world: World, database_url: str) -> Iterator[Verifier]:
    engine = make_engine(database_url)
    with world.lookups() as inner:
        lookups = CachingLookups(inner, clock=lambda: datetime.now(UTC))
        context = VerifierContext(
            engine=engine,
            policy=world.policy(),
            lookups=lookups,
            keyring=world.agencies["counter"].keyring,
            public_url="http://unset",
            clock=lambda: datetime.now(UTC),
            clients={"counter-1": hash_client_secret(SECRET)},
        )
        with serve(create_app(context)) as url:
            context.public_url = url
            meta = httpx.get(url + "/.well-known/oauth-authorization-server").json()
            token = httpx.post(
                meta["token_endpoint"],
                data={"grant_type": "client_credentials"},
                auth=("counter-1", SECRET),
            )
            assert token.status_code == 200, token.text
            bearer = token.json()["access_token"]
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
            ) as http:
                yield Verifier(url, http, context)
    engine.dispose()


class Wallet:
    """The citizen's side, written from the specifications only."""

    def __init__(self, world: World, holder: PrivateKey, credential: str) -> None:
        self.world, self.holder, self.credential = world, holder, credential

    def fetch_request(self, authorization_request: str) -> dict[str, Any]:
        parts = urlsplit(authorization_request)
        assert parts.scheme == "openid4vp"
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        response = httpx.get(params["request_uri"])
        assert response.headers["content-type"].startswith("application/oauth-authz-req+jwt")
        jwt = response.text
        header = parse_unverified_jws(jwt).header
        assert header["typ"] == "oauth-authz-req+jwt"
        client_id = params["client_id"]
        assert client_id.startswith("decentralized_identifier:")
        did = client_id.removeprefix("decentralized_identifier:")
        # OpenID4VP §5.9.3: the key comes from the DID document, named by `kid`.
        with RegistryClient(self.world.url, trust=self.world.ledger_trust()) as registry:
            document = registry.resolve(did).did_document
        assert document is not None
        method = document.find_verification_method(DIDURL.parse(header["kid"]), "assertionMethod")
        claims = verify_jwt(jwt, method.public_key(), typ="oauth-authz-req+jwt")
        assert claims["client_id"] == client_id
        # govid issue 5 item 4: the counter is accredited as a verifier on the ledger.
        accs = httpx.get(f"{self.world.url}/accreditations/{did}").json()["accreditations"]
        assert any(a["role"] == "verifier" for a in accs)
        return claims

    def respond(self, request: dict[str, Any], *, disclose: list[list[str]]) -> httpx.Response:
        query_id = request["dcql_query"]["credentials"][0]["id"]
        presentation = World.present(
            self.credential,
            holder=self.holder,
            disclose=disclose,
            aud=request["client_id"],
            nonce=request["nonce"],
            now=datetime.now(UTC),
        )
        vp_token = json.dumps({query_id: [presentation]})
        return httpx.post(
            request["response_uri"], data={"vp_token": vp_token, "state": request["state"]}
        )


CIVIL = [["given_name"], ["family_name"], ["birthdate"], ["personal_id"]]


def test_cross_device_flow_accepted_and_claims_shown_once(world: World, verifier: Verifier) -> None:
    holder = new_holder()
    wallet = Wallet(world, holder, world.issue(holder=holder))
    created = verifier.http.post("/api/presentation-requests", json={"template": "civil_identity"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["authorization_request"].startswith("openid4vp://?client_id=")
    assert (
        verifier.http.get(f"/api/presentation-requests/{body['id']}").json()["status"] == "pending"
    )

    request = wallet.fetch_request(body["authorization_request"])
    assert request["response_mode"] == "direct_post"
    answer = wallet.respond(request, disclose=CIVIL)
    assert answer.status_code == 200, answer.text

    outcome = verifier.http.get(f"/api/presentation-requests/{body['id']}").json()
    assert outcome["status"] == "accepted", outcome["report"]
    assert outcome["report"]["accepted"] is True
    shown = outcome["disclosed"]["civil_identity"][0]
    assert shown["given_name"] == "Erika" and shown["personal_id"] == "P-123456"
    # Personal data is not kept after it was shown.
    again = verifier.http.get(f"/api/presentation-requests/{body['id']}").json()
    assert again["disclosed"] is None and again["status"] == "accepted"


def test_replayed_response_is_refused(world: World, verifier: Verifier) -> None:
    holder = new_holder()
    wallet = Wallet(world, holder, world.issue(holder=holder))
    first = verifier.http.post(
        "/api/presentation-requests", json={"template": "age_over_18"}
    ).json()
    request = wallet.fetch_request(first["authorization_request"])
    query_id = request["dcql_query"]["credentials"][0]["id"]
    presentation = World.present(
        wallet.credential,
        holder=holder,
        disclose=[["age_over_18"]],
        aud=request["client_id"],
        nonce=request["nonce"],
        now=datetime.now(UTC),
    )
    form = {"vp_token": json.dumps({query_id: [presentation]}), "state": request["state"]}
    assert httpx.post(request["response_uri"], data=form).status_code == 200
    replay = httpx.post(request["response_uri"], data=form)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_request"
    assert replay.json()["govid_error"] == "presentation_request.used"

    # The same vp_token posted into another session: its nonce is the first session's.
    second = verifier.http.post("/api/presentation-requests", json={"template": "age_over_18"})
    other = wallet.fetch_request(second.json()["authorization_request"])
    moved = httpx.post(other["response_uri"], data={**form, "state": other["state"]})
    assert moved.status_code == 200
    outcome = verifier.http.get(f"/api/presentation-requests/{second.json()['id']}").json()
    assert outcome["status"] == "refused"
    assert (outcome["report"]["failed_check"], outcome["report"]["error"]) == (
        "key_binding",
        "kb_jwt.nonce_mismatch",
    )


@pytest.mark.parametrize(
    "vp_token",
    [
        None,
        "",
        "not json",
        "[]",
        "{}",
        '{"unknown_query": ["a~b~"]}',
        '{"age_over_18": "not-a-list"}',
        '{"age_over_18": []}',
        '{"age_over_18": [1]}',
        '{"age_over_18": ["x", "y"]}',
    ],
)
def test_malformed_vp_token_is_a_4xx_and_changes_nothing(
    world: World, verifier: Verifier, vp_token: str | None
) -> None:
    created = verifier.http.post("/api/presentation-requests", json={"template": "age_over_18"})
    holder = new_holder()
    request = Wallet(world, holder, "").fetch_request(created.json()["authorization_request"])
    form = {"state": request["state"]}
    if vp_token is not None:
        form["vp_token"] = vp_token
    answer = httpx.post(request["response_uri"], data=form)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"
    status = verifier.http.get(f"/api/presentation-requests/{created.json()['id']}").json()
    assert status["status"] == "pending"


def test_unknown_state_and_garbage_are_4xx(verifier: Verifier) -> None:
    url = verifier.url + "/openid4vp/response"
    assert httpx.post(url, data={"state": "nope", "vp_token": "{}"}).status_code == 404
    assert httpx.post(url, content=b"\xff\x00garbage").status_code == 400
    assert httpx.get(verifier.url + "/openid4vp/request/nope").status_code == 404
    assert httpx.get(verifier.url + "/openid4vp/request/" + "x" * 100).status_code == 404


def test_api_needs_an_access_token(verifier: Verifier) -> None:
    bare = httpx.post(verifier.url + "/api/presentation-requests", json={"template": "age_over_18"})
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_token"
    wrong = httpx.post(
        verifier.url + "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "counter-1", "client_secret": "no"},
    )
    assert wrong.status_code == 401


def test_bad_requests_to_the_api(verifier: Verifier) -> None:
    bodies: list[dict[str, Any]] = [{}, {"template": "nope"}, {"dcql_query": {"credentials": []}}]
    for body in bodies:
        answer = verifier.http.post("/api/presentation-requests", json=body)
        assert answer.status_code == 400, answer.text


def test_verify_api_reports_every_check(world: World, verifier: Verifier) -> None:
    holder = new_holder()
    presentation = World.present(
        world.issue(holder=holder, idx=9), holder=holder, nonce="n-1", now=datetime.now(UTC)
    )
    body = {"presentation": presentation, "aud": "decentralized_identifier:did:govid:counter"}
    answer = verifier.http.post("/api/verify", json={**body, "nonce": "n-1"})
    assert answer.status_code == 200
    report = answer.json()
    assert report["accepted"] is False
    assert (report["failed_check"], report["error"]) == ("status", "status.suspended")
    malformed = verifier.http.post("/api/verify", json={**body, "presentation": "x", "nonce": "1"})
    assert malformed.status_code == 400


def test_offline_qr_presentation(world: World, verifier: Verifier) -> None:
    holder = new_holder()
    credential = world.issue(holder=holder)
    # A cold cache is no obstacle while the registry answers: evidence is fetched
    # (issue 13 item 4; test_offline_evidence.py covers the registry being down).
    first = verifier.http.post("/api/offline-challenges", json={"template": "age_over_18"}).json()
    qr = encode_offline(
        World.present(
            credential,
            holder=holder,
            disclose=[["age_over_18"]],
            aud=first["challenge"]["aud"],
            nonce=first["challenge"]["nonce"],
            now=datetime.now(UTC),
        )
    )
    assert len(qr) < len(credential)  # compact
    done = verifier.http.post(
        f"/api/offline-challenges/{first['id']}/presentation", json={"qr_text": qr}
    ).json()
    assert done["status"] == "accepted", done["report"]
    assert done["disclosed"]["age_over_18"][0]["age_over_18"] is True
    assert done["report"]["evidence"]["offline"] is False
    # Shown to another counter session (another challenge): refused.
    second = verifier.http.post("/api/offline-challenges", json={"template": "age_over_18"}).json()
    moved = verifier.http.post(
        f"/api/offline-challenges/{second['id']}/presentation", json={"qr_text": qr}
    ).json()
    assert (moved["status"], moved["report"]["error"]) == ("refused", "kb_jwt.nonce_mismatch")
    bad = verifier.http.post(
        f"/api/offline-challenges/{second['id']}/presentation", json={"qr_text": "GOVIDVP1:@@"}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "offline.malformed"


def test_counter_page_shows_a_scannable_qr_then_the_result(
    world: World, verifier: Verifier
) -> None:
    import base64
    import re

    from verifier.accounts import CounterAccounts

    password = "page-test-password-01"
    CounterAccounts(verifier.context.engine, clock=verifier.context.clock).add_user(
        "desk", password
    )
    with httpx.Client(base_url=verifier.url, follow_redirects=True) as browser:
        login = browser.get("/")  # sent to the sign-in page first
        assert str(login.url).endswith("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert token is not None
        home = browser.post(
            "/login", data={"username": "desk", "password": password, "csrf": token.group(1)}
        )
        assert "Age over 18" in home.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
        assert csrf is not None
        page = browser.post("/counter", data={"template": "age_over_18", "csrf": csrf.group(1)})
        assert page.status_code == 200
        match = re.search(r'src="data:image/png;base64,([^"]+)"', page.text)
        assert match is not None
        decoded = decode_qr(base64.b64decode(match.group(1)))
        assert decoded.startswith("openid4vp://?client_id=")

        holder = new_holder()
        wallet = Wallet(world, holder, world.issue(holder=holder))
        request = wallet.fetch_request(decoded)
        assert wallet.respond(request, disclose=[["age_over_18"]]).status_code == 200
        result = browser.get(str(page.url)).text
        assert 'id="verdict">ACCEPTED' in result
        assert "age_over_18" in result
        # Shown once: a reload no longer holds the claims.
        assert "age_over_18" not in browser.get(str(page.url)).text
