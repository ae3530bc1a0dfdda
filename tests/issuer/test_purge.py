"""Expired rows are deleted on a timer (issue 13 item 16): anonymous nonces, access
tokens, and offers that were never issued, with their sealed claims and codes.

Before, expired nonces were swept only when someone asked for a new nonce (an
anonymous request doing a table sweep inside its own transaction), and offers
nobody redeemed stayed forever.
"""

from __future__ import annotations

import httpx
from sqlmodel import col, func, select

from issuer.api.app import create_app
from issuer.store import CredentialRow, NonceRow, OfferRow, TokenRow
from tests.issuer.conftest import CIVIL_CLAIMS, Stack, wait_until
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt
from tests.servers import serve


def _offer(stack: Stack) -> dict[str, str]:
    with stack.api("civil") as api:
        offer: dict[str, str] = api.post(
            "/api/offers",
            json={"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS},
        ).json()
    return offer


def _rows(stack: Stack, table: type, *where: object) -> int:
    with stack.ctx.session() as session:
        stmt = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int(session.exec(stmt).one())


def test_expired_nonces_tokens_and_dead_offers_are_purged_on_a_timer(stack: Stack) -> None:
    pending, redeemed, issued = _offer(stack), _offer(stack), _offer(stack)
    with httpx.Client(timeout=30) as http:
        for _ in range(20):  # anonymous: anyone may ask for nonces
            assert http.post(stack.url + "/agencies/civil/nonce").status_code == 200
        exchange = Exchange.start(redeemed["offer_uri"], http)
        assert exchange.token(redeemed["tx_code"]).status_code == 200
        exchange = Exchange.start(issued["offer_uri"], http)
        access = exchange.token(issued["tx_code"]).json()["access_token"]
        proof = proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=exchange.nonce())
        assert exchange.credential(access, [proof]).status_code == 200
    assert _rows(stack, NonceRow) == 20  # the 21st was used by the proof
    credentials = _rows(stack, CredentialRow)

    # A day later the purge timer of a running issuer deletes what expired.
    stack.clock.advance(days=1)
    stack.ctx.settings.purge_interval = 0.05
    with serve(create_app(stack.ctx)):
        wait_until(lambda: _rows(stack, NonceRow) == 0, what="the nonces to be purged")
        wait_until(lambda: _rows(stack, TokenRow) == 0, what="the tokens to be purged")
        wait_until(lambda: _rows(stack, OfferRow) == 1, what="the dead offers to be purged")
    with stack.ctx.session() as session:
        kept = session.exec(select(OfferRow)).one()
    assert (kept.id, kept.state, kept.claims) == (issued["id"], "issued", None)
    assert _rows(stack, OfferRow, col(OfferRow.id).in_([pending["id"], redeemed["id"]])) == 0
    assert _rows(stack, CredentialRow) == credentials  # what was issued is kept
