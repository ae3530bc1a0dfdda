"""govid issue 13 item 4: an offline presentation is checked against fresh evidence when the
registry answers, and against cached evidence only when it does not, within a short bound.

Real HTTP throughout: the agency revokes on the real ledger (registry and
witness on loopback), the verifier reaches the registry through a relay the
test cuts, and the counter reads the verdict on the API and on its page. The
cache's clock is moved by the test (never slept on); the verifier's own
clock, which judges tokens, is the real one.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.verifier.api.conftest import Counter, challenge_of, csrf_of
from tests.verifier.world import World, new_holder
from verifier.offline import encode_offline

REVOKED, STILL_VALID = 5, 6


def _offline_qr(world: World, agency: str, idx: int, challenge: dict[str, Any]) -> str:
    holder = new_holder()
    presentation = World.present(
        world.issue(agency, holder=holder, idx=idx),
        holder=holder,
        disclose=[["age_over_18"]],
        aud=challenge["aud"],
        nonce=challenge["nonce"],
        now=datetime.now(UTC),
    )
    return encode_offline(presentation)


def _present_offline(world: World, desk: httpx.Client, agency: str, idx: int) -> dict[str, Any]:
    challenge = desk.post("/api/offline-challenges", json={"template": "age_over_18"}).json()
    qr = _offline_qr(world, agency, idx, challenge["challenge"])
    answer = desk.post(
        f"/api/offline-challenges/{challenge['id']}/presentation", json={"qr_text": qr}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _present_on_page(world: World, browser: httpx.Client, agency: str, idx: int) -> str:
    home = browser.get("/")
    created = browser.post(
        "/counter", data={"template": "age_over_18", "kind": "offline", "csrf": csrf_of(home.text)}
    )
    page = browser.get(created.headers["location"]).text
    challenge = challenge_of(page)
    result = browser.post(
        created.headers["location"] + "/offline",
        data={"qr_text": _offline_qr(world, agency, idx, challenge), "csrf": csrf_of(page)},
    )
    assert result.status_code == 200, result.text
    return result.text


def test_offline_presentation_of_a_revoked_credential_while_the_registry_answers(
    world: World, counter: Counter
) -> None:
    agency = f"offline-{secrets.token_hex(4)}"
    world.add_agency(agency)
    counter.add_user("alice")
    with counter.api("desk-a") as desk, counter.browser("alice") as alice:
        # While connected, the counter verifies once: the cache now holds a list
        # in which REVOKED is still valid.
        warm = _present_offline(world, desk, agency, REVOKED)
        assert warm["status"] == "accepted", warm["report"]
        assert warm["report"]["evidence"] == {"offline": False, "cached": False, "age_seconds": 0}

        # The agency revokes; the revocation is on the ledger, cosigned.
        world.republish(agency, {REVOKED: 1})
        counter.cache_clock.advance(90)  # the cached copy is no longer fresh, but not stale

        # The attack: the citizen shows the revoked credential as an offline QR while
        # the counter can reach the registry. It must be checked against fresh evidence.
        attack = _present_offline(world, desk, agency, REVOKED)
        assert attack["status"] == "refused", attack["report"]
        assert (attack["report"]["failed_check"], attack["report"]["error"]) == (
            "status",
            "status.revoked",
        )
        assert attack["report"]["evidence"]["offline"] is False

        # The registry becomes unreachable: once the copies are no longer fresh (60 s),
        # cached evidence serves, marked offline and aged.
        counter.registry.cut()
        counter.cache_clock.advance(70)
        offline = _present_offline(world, desk, agency, STILL_VALID)
        assert offline["status"] == "accepted", offline["report"]
        assert offline["report"]["evidence"] == {"offline": True, "cached": True,
                                                 "age_seconds": 70}  # fmt: skip
        revoked = _present_offline(world, desk, agency, REVOKED)
        assert revoked["report"]["error"] == "status.revoked"  # the cache knows it now
        # ... and the counter page says so, in words.
        page = _present_on_page(world, alice, agency, STILL_VALID)
        assert 'id="verdict">ACCEPTED' in page
        assert 'class="offline" id="evidence">OFFLINE' in page and "70 seconds old" in page

        # Past the status bound (120 s), a cached status list is not used any more,
        # although the issuer's DID and accreditation still are (900 s).
        counter.cache_clock.advance(51)
        too_old = _present_offline(world, desk, agency, STILL_VALID)
        assert too_old["status"] == "refused"
        assert (too_old["report"]["failed_check"], too_old["report"]["error"]) == (
            "status",
            "ledger.evidence_unavailable",
        )
        page = _present_on_page(world, alice, agency, STILL_VALID)
        assert 'id="verdict">REFUSED' in page and "ledger.evidence_unavailable" in page

        # Back online: fresh evidence again, no offline mark.
        counter.registry.restore()
        online = _present_offline(world, desk, agency, STILL_VALID)
        assert online["status"] == "accepted", online["report"]
        assert online["report"]["evidence"]["offline"] is False


def test_online_answers_state_their_evidence_too(world: World, counter: Counter) -> None:
    holder = new_holder()
    presentation = World.present(
        world.issue(holder=holder), holder=holder, aud="a", nonce="n", now=datetime.now(UTC)
    )
    with counter.api("desk-a") as desk:
        body = {"presentation": presentation, "aud": "a", "nonce": "n"}
        first = desk.post("/api/verify", json=body).json()
        assert first["accepted"] and first["evidence"]["cached"] is False
        counter.cache_clock.advance(10)
        second = desk.post("/api/verify", json=body).json()
        assert second["accepted"]
        assert second["evidence"] == {"offline": False, "cached": True, "age_seconds": 10}
