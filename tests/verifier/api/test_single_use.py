"""A presentation request is answered once, however many answers race (issue 13 item 2).

The wallet's `direct_post` (OpenID4VP §8.2) is posted many times at the same
instant, with the same `state`, to a real verifier on loopback over SQLite
and PostgreSQL: exactly one is verified and recorded, the others are told the
request was used, and a decline racing the responses cannot overwrite them.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import httpx

from tests.issuer.test_single_use import at_once
from tests.verifier.api.test_presentations import Verifier, Wallet, verifier
from tests.verifier.world import World, new_holder

__all__ = ["verifier"]  # the fixture, shared with test_presentations

RACERS = 12


def _outcome(answer: httpx.Response) -> str:
    if answer.status_code == 200:
        return "ok"
    return str(answer.json().get("govid_error", answer.json()["error"]))


def test_one_direct_post_is_verified_however_many_race(world: World, verifier: Verifier) -> None:
    holder = new_holder()
    wallet = Wallet(world, holder, world.issue(holder=holder))
    created = verifier.http.post("/api/presentation-requests", json={"template": "age_over_18"})
    assert created.status_code == 201, created.text
    request = wallet.fetch_request(created.json()["authorization_request"])
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
    # Half the racers answer, half decline: whichever comes first is the only answer.
    decline = {"state": request["state"], "error": "access_denied"}
    with httpx.Client(timeout=60) as http:
        answers = at_once(
            RACERS, lambda i: http.post(request["response_uri"], data=form if i % 2 else decline)
        )
    outcomes = Counter(_outcome(a) for a in answers)
    assert outcomes == {"ok": 1, "presentation_request.used": RACERS - 1}, outcomes
    status = verifier.http.get(f"/api/presentation-requests/{created.json()['id']}").json()
    assert status["status"] in {"accepted", "refused"}
    winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
    assert status["status"] == ("accepted" if winner % 2 else "refused")
