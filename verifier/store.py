"""The verifier's tables and repositories: presentation sessions and access tokens.

Sessions live in the database, so several verifier processes can serve one
counter. A session is answered at most once: `claim` moves it from `pending`
to `verifying` with one conditional UPDATE, and only the caller whose UPDATE
changed the row goes on (a replayed or concurrent response finds it taken).
The caller owns the transaction.

Disclosed claims are forgotten when the counter has read them, when nobody
read them in time, or when the retention period ends (`purge_expired`); on
SQLite the WAL is checkpointed and truncated after such a commit, so the
claims do not linger in the `-wal` file (`service.private_files`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Text, and_, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from service.private_files import scrub_after_commit
from verifier.errors import SessionAlreadyUsed, SessionNotFound

__all__ = ["AccessTokenRow", "SessionRow", "SqlSessionStore"]

PENDING, VERIFYING, ACCEPTED, REFUSED = "pending", "verifying", "accepted", "refused"


class SessionRow(SQLModel, table=True):
    __tablename__ = "verifier_session"

    id: str = Field(primary_key=True, max_length=64)
    state: str = Field(max_length=64, unique=True, index=True)
    nonce: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # "openid4vp" or "offline"
    owner: str | None = Field(default=None, max_length=128)
    client_id: str
    template: str | None = Field(default=None, max_length=64)
    dcql_query: str = Field(sa_type=Text)
    request_jwt: str | None = Field(default=None, sa_type=Text)
    status: str = Field(max_length=16)
    created_ms: int = Field(sa_type=BigInteger)
    expires_ms: int = Field(sa_type=BigInteger)
    completed_ms: int | None = Field(default=None, sa_type=BigInteger)
    report: str | None = Field(default=None, sa_type=Text)
    disclosed: str | None = Field(default=None, sa_type=Text)
    purge_after_ms: int | None = Field(default=None, sa_type=BigInteger)


class AccessTokenRow(SQLModel, table=True):
    __tablename__ = "verifier_access_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=128)
    expires_ms: int = Field(sa_type=BigInteger)


class SqlSessionStore:
    """Sessions in SQL. The caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, row: SessionRow) -> None:
        self._s.add(row)
        self._s.flush()

    def get(self, session_id: str) -> SessionRow:
        row = self._s.get(SessionRow, session_id)
        if row is None:
            raise SessionNotFound("no presentation request has this id")
        return row

    def by_state(self, state: str) -> SessionRow:
        row = self._s.exec(select(SessionRow).where(SessionRow.state == state)).first()
        if row is None:
            raise SessionNotFound("no presentation request has this state")
        return row

    def claim(self, session_id: str, *, now_ms: int) -> None:
        """Take a pending, unexpired session for verification, exactly once."""
        result: Any = self._s.exec(
            update(SessionRow)
            .where(SessionRow.id == session_id)  # type: ignore[arg-type]
            .where(SessionRow.status == PENDING)  # type: ignore[arg-type]
            .where(SessionRow.expires_ms > now_ms)  # type: ignore[arg-type]
            .values(status=VERIFYING)
        )
        if result.rowcount != 1:
            raise SessionAlreadyUsed("this presentation request was answered or has expired")

    def complete(
        self,
        session_id: str,
        *,
        accepted: bool,
        report: str,
        disclosed: str | None,
        now_ms: int,
        purge_after_ms: int | None,
    ) -> None:
        row = self.get(session_id)
        row.status = ACCEPTED if accepted else REFUSED
        row.report, row.disclosed = report, disclosed
        row.completed_ms, row.purge_after_ms = now_ms, purge_after_ms
        self._s.add(row)
        self._s.flush()

    def forget_disclosed(self, session_id: str) -> None:
        row = self.get(session_id)
        row.disclosed = None
        self._s.add(row)
        self._s.flush()
        scrub_after_commit(self._s)

    def purge_expired(self, *, now_ms: int, unread_ms: int) -> int:
        """Forget disclosed claims past their retention, or unread `unread_ms` after arrival.

        Returns how many sessions lost their claims.
        """
        disclosed, purge_after = col(SessionRow.disclosed), col(SessionRow.purge_after_ms)
        result: Any = self._s.exec(
            update(SessionRow)
            .where(disclosed.is_not(None))
            .where(
                or_(
                    purge_after <= now_ms,
                    and_(
                        purge_after.is_(None),
                        col(SessionRow.completed_ms) <= now_ms - unread_ms,
                    ),
                )
            )
            .values(disclosed=None)
        )
        if result.rowcount:
            scrub_after_commit(self._s)
        return int(result.rowcount)

    def add_token(self, row: AccessTokenRow) -> None:
        self._s.add(row)
        self._s.flush()

    def token(self, token_hash: str) -> AccessTokenRow | None:
        return self._s.get(AccessTokenRow, token_hash)
