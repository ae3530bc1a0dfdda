"""Single use under concurrency (issue 13 item 2), on SQLite and PostgreSQL.

The attack: fire many requests at the same instant against a real issuer on
loopback, hoping that more than one of them passes a "still unused?" check
before any of them records the use. Every single-use value must have exactly
one winner and every counter must stop at its limit, whatever the backend.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from sqlmodel import col, func, select

from issuer.store import AuditRow, CredentialRow, OfferRow, TokenRow
from tests.issuer.conftest import CIVIL_CLAIMS, Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt

T = TypeVar("T")

RACERS = 16


def at_once(count: int, attempt: Callable[[int], T]) -> list[T]:
    """Run `attempt(0..count-1)` in `count` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        barrier.wait()
        return attempt(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _offer(stack: Stack) -> dict[str, Any]:
    body = {"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS}
    with stack.api("civil") as api:
        response = api.post("/api/offers", json=body)
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


def _codes(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(
        "ok" if r.status_code == 200 else str(r.json().get("govid_error", r.json()["error"]))
        for r in responses
    )


def _count(stack: Stack, row: Any, *where: Any) -> int:
    with stack.ctx.session() as session:
        return int(session.exec(select(func.count()).select_from(row).where(*where)).one())


def test_one_pre_authorized_code_gives_one_access_token(stack: Stack) -> None:
    offer = _offer(stack)
    with httpx.Client(timeout=60) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        answers = at_once(RACERS, lambda _: exchange.token(offer["tx_code"]))
    assert _codes(answers) == {"ok": 1, "oauth.invalid_grant": RACERS - 1}
    assert _count(stack, TokenRow, col(TokenRow.offer_id) == offer["id"]) == 1
    redeemed = (col(AuditRow.target) == offer["id"], col(AuditRow.action) == "offer.redeem")
    assert _count(stack, AuditRow, *redeemed) == 1


def test_wrong_transaction_codes_are_evaluated_exactly_up_to_the_limit(stack: Stack) -> None:
    limit = stack.ctx.settings.max_tx_code_attempts
    offer = _offer(stack)
    wrong = "000000" if offer["tx_code"] != "000000" else "111111"
    with httpx.Client(timeout=60) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        answers = at_once(RACERS, lambda _: exchange.token(wrong))
        last = exchange.token(offer["tx_code"])
    # The first limit-1 guesses are wrong, the limit-th burns the code, the rest
    # are never compared: they meet a code that is no longer valid.
    assert _codes(answers) == {
        "oid4vci.tx_code_invalid": limit - 1,
        "oid4vci.tx_code_locked": 1,
        "oauth.invalid_grant": RACERS - limit,
    }
    guessed = (col(AuditRow.target) == offer["id"], col(AuditRow.action) == "offer.tx_code_wrong")
    assert _count(stack, AuditRow, *guessed) == limit
    with stack.ctx.session() as session:
        row = session.get(OfferRow, offer["id"])
        assert row is not None
        assert (row.state, row.tx_attempts, row.claims) == ("locked", limit, None)
    # Burnt: the right code is refused too.
    assert last.json()["error"] == "invalid_grant"


def test_one_access_token_gives_one_batch(stack: Stack) -> None:
    offer = _offer(stack)
    with httpx.Client(timeout=60) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        access = exchange.token(offer["tx_code"]).json()["access_token"]
        # Each racer brings its own fresh nonce and keys: only the offer's state stops it.
        proofs = [
            proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=exchange.nonce())
            for _ in range(RACERS)
        ]
        answers = at_once(RACERS, lambda i: exchange.credential(access, [proofs[i]]))
    assert _codes(answers) == {"ok": 1, "oid4vci.credential_request_denied": RACERS - 1}
    assert _count(stack, CredentialRow, col(CredentialRow.offer_id) == offer["id"]) == 1


def test_one_c_nonce_proves_one_request(stack: Stack) -> None:
    racers = 6
    tokens, exchanges = [], []
    with httpx.Client(timeout=60) as http:
        for _ in range(racers):
            offer = _offer(stack)
            exchange = Exchange.start(offer["offer_uri"], http)
            tokens.append(exchange.token(offer["tx_code"]).json()["access_token"])
            exchanges.append(exchange)
        nonce = exchanges[0].nonce()
        proof = proof_jwt(new_holder_key(), aud=exchanges[0].issuer, nonce=nonce)
        answers = at_once(racers, lambda i: exchanges[i].credential(tokens[i], [proof]))
    assert _codes(answers) == {"ok": 1, "oid4vci.nonce_invalid": racers - 1}
