"""Two verifier processes on one PostgreSQL database serve one counter (issue 7 item 4).

A request created by process A is fetched, answered and read back through
process B and then A: sessions, nonces and access tokens live in the
database, not in a process, so a load balancer may send each call anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from govid._io import write_secret
from service.oauth import hash_client_secret
from tests.processes import Server
from tests.verifier.api.test_presentations import CIVIL, Wallet
from tests.verifier.world import World, new_holder

pytestmark = pytest.mark.slow
SECRET = "two-process-secret-0123456789"


def _env(world: World, database_url: str, keyring: Path) -> dict[str, str]:
    return {
        "GOVID_VERIFIER_REGISTRY_URL": world.url,
        "GOVID_VERIFIER_LOG_VKEY": world.log_vkey,
        "GOVID_VERIFIER_WITNESS_VKEYS": json.dumps([world.witness_vkey]),
        "GOVID_VERIFIER_QUORUM": "1",
        "GOVID_VERIFIER_ROOT_DID": world.root.did,
        "GOVID_VERIFIER_DATABASE_URL": database_url,
        "GOVID_VERIFIER_KEYRING_FILE": str(keyring),
        "GOVID_VERIFIER_CLIENTS": json.dumps({"counter-1": hash_client_secret(SECRET)}),
    }


def test_two_verifier_processes_share_sessions(
    world: World, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = tmp_path / "counter.json"
    write_secret(keyring, world.agencies["counter"].keyring.dumps())
    for name, value in _env(world, postgres_url, keyring).items():
        monkeypatch.setenv(name, value)
    a = Server(["verifier", "serve"], log=tmp_path / "a.log")
    b = Server(["verifier", "serve"], log=tmp_path / "b.log")
    for server in (a, b):
        # Each process names itself in the request_uri it hands out.
        monkeypatch.setenv("GOVID_VERIFIER_PUBLIC_URL", server.url)
        server.start()
    try:
        token = httpx.post(
            a.url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("counter-1", SECRET),
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            a.url + "/api/presentation-requests", json={"template": "civil_identity"}, headers=auth
        )
        assert created.status_code == 201, created.text
        body = created.json()

        # The wallet is sent to B for everything (as a load balancer might).
        holder = new_holder()
        wallet = Wallet(world, holder, world.issue(holder=holder))
        quoted = [u.replace(":", "%3A").replace("/", "%2F") for u in (a.url, b.url)]
        via_b = body["authorization_request"].replace(*quoted)
        request = wallet.fetch_request(via_b)
        request["response_uri"] = request["response_uri"].replace(a.url, b.url)
        answer = wallet.respond(request, disclose=CIVIL)
        assert answer.status_code == 200, answer.text

        # The counter reads the outcome from B with A's token, and from A again.
        from_b = httpx.get(f"{b.url}/api/presentation-requests/{body['id']}", headers=auth).json()
        assert from_b["status"] == "accepted", from_b["report"]
        from_a = httpx.get(f"{a.url}/api/presentation-requests/{body['id']}", headers=auth).json()
        assert from_a["status"] == "accepted"
        # Claims were handed out once (by B); A does not show them again.
        assert from_b["disclosed"] is not None and from_a["disclosed"] is None

        # A second answer, through the other process, is refused: the session is used.
        request["response_uri"] = request["response_uri"].replace(b.url, a.url)
        replay = wallet.respond(request, disclose=CIVIL)
        assert replay.status_code == 400
        assert replay.json()["govid_error"] == "presentation_request.used"
    finally:
        a.stop()
        b.stop()
