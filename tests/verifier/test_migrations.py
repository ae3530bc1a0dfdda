"""Migration 0002 on a database with sessions: API sessions keep their owner, page sessions
(created without one, readable by anyone before issue 13) become unreadable."""

from __future__ import annotations

from sqlalchemy import text

from verifier.migrations import upgrade
from verifier.settings import engine_for

_ROW = (
    "INSERT INTO verifier_session (id, state, nonce, kind, owner, client_id, dcql_query, "
    "status, created_ms, expires_ms) VALUES (:id, :id, 'n', 'openid4vp', :owner, 'c', '{}', "
    "'pending', 0, 1)"
)


def test_owners_survive_the_upgrade(database_url: str) -> None:
    engine = engine_for(database_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.execute(text(_ROW), {"id": "api", "owner": "desk-a"})
            connection.execute(text(_ROW), {"id": "page", "owner": None})
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, owner FROM verifier_session")).all()
            handles = connection.execute(
                text("SELECT count(*) FROM verifier_session WHERE request_handle IS NOT NULL")
            ).scalar_one()
        assert {(r[0], r[1]) for r in rows} == {("api", "client:desk-a"), ("page", None)}
        assert handles == 0  # old QR codes (session ids) no longer fetch anything
    finally:
        engine.dispose()
