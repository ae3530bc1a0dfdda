"""Who may do what: agencies, counters, witnesses; and clients that keep failing are slowed.

The issuer runs in-process on loopback with two agencies (`tests/issuer/conftest.py`);
the verifier and witnesses run as real processes. The registry's own rule
("an operation is accepted only when signed by the key the rules require")
is `tests/registry/test_rules.py`; the witness's rules one by one are
`tests/registry/test_witness_protocol.py`. Here: the same at the HTTP edge.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.routing import APIRoute
from sqlalchemy import create_engine, text

from registry.authoring import create_did
from registry.checkpoint import Checkpoint
from registry.note import NoteSigner, sign_note
from registry.witness_protocol import AddCheckpointRequest
from tests.issuer.conftest import CIVIL_CLAIMS, Stack, registry, stack
from tests.issuer.wallet_client import Exchange
from tests.processes import Server, govid
from tests.security.procstack import running_stack

__all__ = ["registry", "stack"]  # fixtures, imported to be found

pytestmark = pytest.mark.slow


def _offer(stack: Stack, slug: str = "civil") -> dict[str, str]:
    with stack.api(slug) as api:
        response = api.post(
            "/api/offers",
            json={"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS}
            if slug == "civil"
            else {
                "credential_configuration_id": "social_security_card",
                "claims": {
                    "personal_id": "PID-77-1",
                    "social_security_number": "SSN-77-1",
                    "given_name": "Jan",
                    "family_name": "Dvorak",
                    "birthdate": "1970-01-01",
                },
            },
        )
    assert response.status_code == 201, response.text
    offer: dict[str, str] = response.json()
    return offer


def _agency_routes() -> list[tuple[str, str]]:
    """Every route of the agency API and the agency page, as (method, concrete path)."""
    from issuer.api import agency_api, web

    out = []
    for route in [*agency_api.router.routes, *web.router.routes]:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                path = re.sub(r"\{action\}", "revoke", route.path)
                out.append((method, re.sub(r"\{[a-z_]+\}", "x", path)))
    return out


# A complete agency-page form, so that refusals are about who asks, not what.
_FORM = {"csrf": "x", "credential_configuration_id": "civil_identity", "claims": "{}"}


def test_every_agency_endpoint_refuses_missing_bad_and_expired_tokens(stack: Stack) -> None:
    routes = _agency_routes()
    assert len(routes) >= 9
    offer = _offer(stack)
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        # A wallet's access token is not an agency's.
        exchange = Exchange.start(offer["offer_uri"], http)
        wallet_token = exchange.token(offer["tx_code"]).json()["access_token"]
        agency_token = stack.agency_token("civil")
        stack.clock.advance(seconds=stack.ctx.settings.agency_token_ttl + 1)
        bad = {
            "missing": {},
            "not bearer": {"Authorization": f"Token {agency_token}"},
            "unknown": {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"},
            "expired": {"Authorization": f"Bearer {agency_token}"},
            "wallet's": {"Authorization": f"Bearer {wallet_token}"},
            "basic, wrong secret": {"Authorization": "Basic Y2l2aWwteDp5"},
        }
        for method, path in routes:
            for name, headers in bad.items():
                if path.startswith("/api/") and name.startswith("basic"):
                    continue
                if path.startswith("/agency") and name not in ("missing", "basic, wrong secret"):
                    continue
                response = http.request(method, path, headers=headers, data=_FORM)
                assert response.status_code == 401, (method, path, name, response.text)


def test_an_agency_cannot_touch_another_agencys_offers_or_credentials(stack: Stack) -> None:
    social_offer = _offer(stack, "social")
    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(social_offer["offer_uri"], http)
        from tests.issuer.wallet_client import new_holder_key, proof_jwt

        token = exchange.token(social_offer["tx_code"]).json()["access_token"]
        proof = proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=exchange.nonce())
        assert exchange.credential(token, [proof]).status_code == 200
    with stack.api("social") as social:
        (credential,) = social.get("/api/credentials", params={"offer": social_offer["id"]}).json()[
            "credentials"
        ]
    with stack.api("civil") as civil:
        assert civil.get(f"/api/offers/{social_offer['id']}/qr.png").status_code == 404
        listed = civil.get("/api/credentials", params={"offer": social_offer["id"]})
        assert listed.status_code == 200 and listed.json()["credentials"] == []
        for action in ("revoke", "suspend", "reinstate"):
            answer = civil.post(f"/api/credentials/{credential['id']}/{action}")
            assert answer.status_code == 404, answer.text
        audit = civil.get("/api/audit").json()["events"]
        assert all(event["agency"] == "civil" for event in audit)
    with stack.api("social") as social:
        (again,) = social.get("/api/credentials", params={"offer": social_offer["id"]}).json()[
            "credentials"
        ]
        assert again["status"] == "valid"


def test_wrong_scopes_are_refused(stack: Stack) -> None:
    narrow = stack.agency_token("civil", scope="civil_identity")
    birth = {
        "credential_configuration_id": "birth_certificate",
        "claims": {"given_name": "A", "family_name": "B", "birthdate": "2000-01-01"},
    }
    response = httpx.post(
        stack.url + "/api/offers", json=birth, headers={"Authorization": f"Bearer {narrow}"}
    )
    assert response.status_code == 403, response.text
    civil = stack.agencies["civil"]
    wider = httpx.post(
        stack.url + "/token",
        data={"grant_type": "client_credentials", "scope": "social_security_card"},
        auth=(civil.client_id, civil.client_secret),
    )
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")


def test_issuer_token_endpoint_slows_down_guessing(stack: Stack) -> None:
    """Guessing a client secret or a transaction code: 30 failures a minute, then 429."""
    civil = stack.agencies["civil"]
    codes = []
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        for attempt in range(40):
            # Each guess at another client id: one account's guesses stop earlier, at
            # the per-account limit (issuer/test_web.py); this is the per-address one.
            guess = http.post(
                "/token",
                data={"grant_type": "client_credentials"},
                auth=(f"civil-guess{attempt}", "guess"),
            )
            codes.append(guess.status_code)
        assert set(codes[:30]) == {401}
        assert codes[-1] == 429
        limited = http.post(
            "/token",
            data={"grant_type": "client_credentials"},
            auth=(civil.client_id, civil.client_secret),
        )
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"] == "request.rate_limited"
        # Other endpoints are not limited.
        assert http.get("/.well-known/oauth-authorization-server").status_code == 200


def test_verifier_refuses_other_counters_expired_tokens_and_guessing(
    tmp_path: Path, stack_database_url: str | None
) -> None:
    other_secret = secrets.token_hex()
    clients = {"other": hashlib.sha256(other_secret.encode()).hexdigest()}
    with running_stack(tmp_path, stack_database_url) as s:
        # Restart the verifier knowing a second counter.
        configured = json.loads(s.verifier.env["GOVID_VERIFIER_CLIENTS"])
        s.verifier.env["GOVID_VERIFIER_CLIENTS"] = json.dumps({**configured, **clients})
        s.verifier.stop()
        s.verifier.start()
        with httpx.Client(base_url=s.verifier.url, timeout=30) as http:
            mine = s.counter_token(http)
            other = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=("other", other_secret),
            ).json()["access_token"]
            opened = http.post(
                "/api/presentation-requests",
                json={"template": "age_over_18"},
                headers={"Authorization": f"Bearer {mine}"},
            ).json()
            # Another counter cannot read this counter's session.
            theirs = http.get(
                f"/api/presentation-requests/{opened['id']}",
                headers={"Authorization": f"Bearer {other}"},
            )
            assert theirs.status_code == 404
            # An expired token, planted in the verifier's database.
            expired = secrets.token_urlsafe(32)
            url = stack_database_url or f"sqlite:///{tmp_path / 'verifier' / 'verifier.db'}"
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO verifier_access_token (token_hash, client_id, expires_ms) "
                        "VALUES (:h, 'counter', 1000)"
                    ),
                    {"h": hashlib.sha256(expired.encode()).hexdigest()},
                )
            engine.dispose()
            for headers in ({}, {"Authorization": f"Bearer {expired}"}, {"Authorization": "x"}):
                for method, path, body in (
                    ("POST", "/api/verify", {"presentation": "x", "aud": "a", "nonce": "n"}),
                    ("POST", "/api/presentation-requests", {"template": "age_over_18"}),
                    ("GET", f"/api/presentation-requests/{opened['id']}", None),
                    ("POST", "/api/offline-challenges", {"template": "age_over_18"}),
                ):
                    answer = http.request(method, path, json=body, headers=headers)
                    assert answer.status_code == 401, (path, headers, answer.text)
            # Guessing a counter's secret is slowed down like the issuer's.
            codes = [
                http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=("counter", f"guess-{i}"),
                ).status_code
                for i in range(40)
            ]
            assert codes[0] == 401 and codes[-1] == 429


def test_witness_cosigns_only_its_configured_log(tmp_path: Path) -> None:
    info = json.loads(govid("registry", "init", "--data", str(tmp_path / "reg")).stdout)
    wdata = tmp_path / "witness"
    govid(
        "witness", "init", "--data", str(wdata), "--name", "w.example",
        "--log", f"{info['origin']}={info['vkey']}",
    )  # fmt: skip
    witness = Server(["witness", "serve", "--data", str(wdata)], log=tmp_path / "w.log").start()
    try:
        own = NoteSigner.from_skey((tmp_path / "reg" / "log.key").read_text().strip())
        impostor = NoteSigner(info["origin"], Ed25519PrivateKey.generate())  # same name
        stranger = NoteSigner("other.example/log", Ed25519PrivateKey.generate())
        leaf = hashlib.sha256(b"\x00" + create_did(ledger=info["origin"])[1].encode()).digest()

        def request(signer: NoteSigner) -> bytes:
            note = sign_note(Checkpoint(signer.name, 1, leaf).to_text(), [signer])
            return AddCheckpointRequest(0, (), note).to_bytes()

        with httpx.Client(timeout=30) as http:
            post = witness.url + "/add-checkpoint"
            # Another log, or another key under this log's name: refused.
            for signer in (stranger, impostor):
                answer = http.post(post, content=request(signer))
                assert 400 <= answer.status_code < 500, answer.text
            # Its own log is cosigned, from size 0: the refusals moved no state.
            assert http.post(post, content=request(own)).status_code == 200
    finally:
        witness.stop()
