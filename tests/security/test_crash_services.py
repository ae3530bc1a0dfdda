"""kill -9 of the issuer and of the verifier under concurrent load, then restart (real processes).

The registry's own kill -9 and database outage are `tests/registry/test_crash.py`.
Here: what a service acknowledged (a credential handed to a wallet, a
presentation request opened, a verification answered) is still there after
the restart; no status index is handed out twice; the ledger audits clean.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from did.encoding import b64url_decode
from registry.audit import audit_registry, render_report
from tests.security.procstack import (
    Answer,
    Received,
    Stack,
    answer_request,
    citizen_claims,
    credential_ids,
    make_offer,
    open_request,
    publish_and_wait_accepted,
    receive,
    running_stack,
    wait_until,
)

pytestmark = pytest.mark.slow

WORKERS = 6


def _status_of(credential: str) -> tuple[str, int]:
    payload = json.loads(b64url_decode(credential.split("~")[0].split(".")[1]))
    ref = payload["status"]["status_list"]
    return str(ref["uri"]), int(ref["idx"])


@dataclass
class Load:
    acked: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def _wallets(offers: queue.Queue[dict[str, Any]], load: Load) -> None:
    with httpx.Client(timeout=30) as http:
        while not load.stop.is_set():
            try:
                offer = offers.get_nowait()
            except queue.Empty:
                return
            try:
                received = receive(http, offer)
            except (httpx.HTTPError, AssertionError):
                continue  # the issuer died under us: never acknowledged
            with load.lock:
                load.acked.append(received)


def test_issuer_kill_9_loses_no_credential_and_reuses_no_index(
    tmp_path: Path, stack_database_url: str | None
) -> None:
    with running_stack(tmp_path, stack_database_url) as stack, httpx.Client(timeout=30) as http:
        agency = stack.agency_token(http)
        offers: queue.Queue[dict[str, Any]] = queue.Queue()
        for n in range(120):
            made = make_offer(stack, http, agency, citizen_claims(n))
            assert made.status_code == 201, made.text
            offers.put(made.json())
        load = Load()
        threads = [threading.Thread(target=_wallets, args=(offers, load)) for _ in range(WORKERS)]
        for t in threads:
            t.start()
        wait_until(lambda: len(load.acked) >= 25, what="credentials under load")
        stack.issuer.kill9()  # mid-flight: issuance transactions are open
        load.stop.set()
        for t in threads:
            t.join(timeout=60)
        acked = list(load.acked)

        stack.issuer.start()
        agency = stack.agency_token(http)
        seen: dict[tuple[str, int], str] = {}
        for received in acked:
            slot = _status_of(received.credential)
            assert slot not in seen, "a status index was handed out twice"
            seen[slot] = received.offer_id
            # The issuer still knows the credential it acknowledged, at that slot.
            listed = http.get(
                stack.issuer.url + "/api/credentials",
                params={"offer": received.offer_id},
                headers={"Authorization": f"Bearer {agency}"},
            ).json()["credentials"]
            assert [(c["status_list"]["uri"], c["status_list"]["idx"]) for c in listed] == [slot]

        # Issuance goes on after the restart, on fresh slots.
        more = []
        for n in range(10):
            offer = make_offer(stack, http, agency, citizen_claims(1000 + n)).json()
            more.append(receive(http, offer))
        for received in more:
            slot = _status_of(received.credential)
            assert slot not in seen, "a status index was handed out twice after the restart"
            seen[slot] = received.offer_id

        # What was acknowledged before the crash still verifies at a counter, and
        # revocation still reaches the ledger.
        publish_and_wait_accepted(stack, http, acked[0])
        (credential_id,) = credential_ids(stack, http, agency, acked[1].offer_id)
        revoked = http.post(
            f"{stack.issuer.url}/api/credentials/{credential_id}/revoke",
            headers={"Authorization": f"Bearer {agency}"},
        )
        assert revoked.status_code == 200, revoked.text
        _audit_clean(stack, http)


def _audit_clean(stack: Stack, http: httpx.Client) -> None:
    report = audit_registry(
        stack.registry.url, log_vkey=stack.info["vkey"], policy=None, client=http
    )
    assert report.ok, render_report(report)


@dataclass
class Counter:
    opened: list[str] = field(default_factory=list)
    accepted: list[tuple[str, Answer]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def _counters(stack: Stack, token: str, received: Received, load: Counter, rounds: int) -> None:
    with httpx.Client(timeout=30) as http:
        for _ in range(rounds):
            if load.stop.is_set():
                return
            try:
                opened = open_request(stack, http, token)
                if opened.status_code != 201:
                    continue
                view = opened.json()
                with load.lock:
                    load.opened.append(view["id"])
                answered = answer_request(http, view, received)
            except (httpx.HTTPError, AssertionError):
                continue
            reply = answered.response
            if reply.status_code == 200 and reply.json() == {"status": "accepted"}:
                with load.lock:
                    load.accepted.append((view["id"], answered))


def test_verifier_kill_9_keeps_every_session_it_acknowledged(
    tmp_path: Path, stack_database_url: str | None
) -> None:
    with running_stack(tmp_path, stack_database_url) as stack, httpx.Client(timeout=30) as http:
        agency = stack.agency_token(http)
        holders = [receive(http, make_offer(stack, http, agency, citizen_claims(n)).json())
                   for n in range(WORKERS)]  # fmt: skip
        publish_and_wait_accepted(stack, http, holders[0])
        token = stack.counter_token(http)
        load = Counter()
        threads = [
            threading.Thread(target=_counters, args=(stack, token, holders[i], load, 200))
            for i in range(WORKERS)
        ]
        for t in threads:
            t.start()
        wait_until(lambda: len(load.accepted) >= 15, what="verifications under load")
        stack.verifier.kill9()
        load.stop.set()
        for t in threads:
            t.join(timeout=60)
        stack.verifier.start()

        headers = {"Authorization": f"Bearer {token}"}  # tokens live in the database too
        for session_id in load.opened:
            view = http.get(
                f"{stack.verifier.url}/api/presentation-requests/{session_id}", headers=headers
            )
            assert view.status_code == 200, view.text
        for session_id, first in load.accepted:
            view = http.get(
                f"{stack.verifier.url}/api/presentation-requests/{session_id}", headers=headers
            ).json()
            assert view["status"] == "accepted"
            assert view["report"]["accepted"] is True
            # An answered request cannot be answered again, crash or not.
            replay = http.post(first.response_uri, data=first.form)
            assert 400 <= replay.status_code < 500, replay.text

        # The counter works as before.
        opened = open_request(stack, http, token)
        assert opened.status_code == 201
        answered = answer_request(http, opened.json(), holders[1]).response
        assert answered.json() == {"status": "accepted"}, answered.text
