"""govid issue 13 item 11: the offline-presentation endpoint checks the session's owner and kind.

The attacks, over real HTTP against a real verifier (SQLite and PostgreSQL):
another API client posts a citizen's offline QR into a desk's challenge (and
used to get the disclosed claims back, and burn the desk's session); a client
answers an OpenID4VP request through the offline endpoint, with the nonce
read from the public request object.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.verifier.api.conftest import Counter, challenge_of, csrf_of
from tests.verifier.api.test_presentations import Wallet
from tests.verifier.world import World, new_holder
from verifier.offline import encode_offline


def _qr(world: World, challenge: dict[str, Any], *, idx: int = 3) -> str:
    holder = new_holder()
    credential = world.issue(holder=holder, idx=idx)
    presentation = World.present(
        credential,
        holder=holder,
        disclose=[["age_over_18"]],
        aud=challenge["aud"],
        nonce=challenge["nonce"],
        now=datetime.now(UTC),
    )
    return encode_offline(presentation)


def test_another_client_cannot_answer_or_read_a_desks_offline_challenge(
    world: World, counter: Counter
) -> None:
    with counter.api("desk-a") as desk_a, counter.api("desk-b") as desk_b:
        mine = desk_a.post("/api/offline-challenges", json={"template": "age_over_18"}).json()
        qr = _qr(world, mine["challenge"])
        path = f"/api/offline-challenges/{mine['id']}/presentation"

        stolen = desk_b.post(path, json={"qr_text": qr})
        assert stolen.status_code == 404, stolen.text
        assert stolen.json()["error"] == "presentation_request.not_found"
        assert "age_over_18" not in stolen.text
        # Nothing changed: the desk's challenge is still open and answers once.
        assert desk_a.get(f"/api/presentation-requests/{mine['id']}").json()["status"] == "pending"
        done = desk_a.post(path, json={"qr_text": qr}).json()
        assert done["status"] == "accepted", done["report"]
        assert done["disclosed"]["age_over_18"][0]["age_over_18"] is True


def test_a_counter_users_offline_challenge_is_not_reachable_through_the_api(
    world: World, counter: Counter
) -> None:
    counter.add_user("alice")
    with counter.browser("alice") as alice, counter.api("desk-a") as desk:
        home = alice.get("/")
        created = alice.post(
            "/counter",
            data={"template": "age_over_18", "kind": "offline", "csrf": csrf_of(home.text)},
        )
        location = created.headers["location"]
        session_id = location.rsplit("/", 1)[-1]
        page = alice.get(location).text
        qr = _qr(world, challenge_of(page))
        answer = desk.post(
            f"/api/offline-challenges/{session_id}/presentation", json={"qr_text": qr}
        )
        assert answer.status_code == 404
        # The owner answers it on the page.
        result = alice.post(f"{location}/offline", data={"qr_text": qr, "csrf": csrf_of(page)}).text
        assert 'id="verdict">ACCEPTED' in result and "age_over_18" in result


def test_an_openid4vp_request_cannot_be_answered_through_the_offline_endpoint(
    world: World, counter: Counter
) -> None:
    with counter.api("desk-a") as desk, counter.api("desk-b") as other:
        created = desk.post("/api/presentation-requests", json={"template": "age_over_18"}).json()
        # The request object is public to whoever holds the QR: its nonce and client_id.
        holder = new_holder()
        request = Wallet(world, holder, "").fetch_request(created["authorization_request"])
        qr = _qr(world, {"aud": request["client_id"], "nonce": request["nonce"]})
        path = f"/api/offline-challenges/{created['id']}/presentation"

        assert other.post(path, json={"qr_text": qr}).status_code == 404
        wrong_kind = desk.post(path, json={"qr_text": qr})
        assert wrong_kind.status_code == 409, wrong_kind.text
        assert wrong_kind.json()["error"] == "presentation_request.kind_mismatch"
        status = desk.get(f"/api/presentation-requests/{created['id']}").json()
        assert status["status"] == "pending" and status["report"] is None
