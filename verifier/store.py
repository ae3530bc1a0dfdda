"""The verifier's tables and repositories: presentation sessions, access tokens,
counter accounts and their sign-ins.

Sessions live in the database, so several verifier processes can serve one
counter. A session is answered at most once: `claim` moves it from `pending`
to `verifying` with one conditional UPDATE, and only the caller whose UPDATE
changed the row goes on (a replayed or concurrent response finds it taken).
The request object behind a session's one-time `request_uri` is handed out
once the same way (`take_request_object`). The caller owns the transaction.

Disclosed claims are forgotten when the counter has read them, when nobody
read them in time, or when the retention period ends (`purge_expired`); on
SQLite the WAL is checkpointed and truncated after such a commit, so the
claims do not linger in the `-wal` file (`service.private_files`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Text, and_, delete, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from service.private_files import scrub_after_commit
from verifier.errors import RequestURIUsed, SessionAlreadyUsed, SessionNotFound

__all__ = [
    "AccessTokenRow",
    "CounterLoginRow",
    "CounterUserRow",
    "SessionRow",
    "SqlAccountStore",
    "SqlSessionStore",
]

PENDING, VERIFYING, ACCEPTED, REFUSED = "pending", "verifying", "accepted", "refused"


class SessionRow(SQLModel, table=True):
    __tablename__ = "verifier_session"

    id: str = Field(primary_key=True, max_length=64)
    state: str = Field(max_length=64, unique=True, index=True)
    nonce: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # "openid4vp" or "offline"
    # Who created it and alone may read it: "client:<id>" or "user:<name>" (`verifier.owners`).
    owner: str | None = Field(default=None, max_length=160)
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
    # The one-time reference in the QR's `request_uri`: random, unrelated to `id`.
    request_handle: str | None = Field(default=None, max_length=64, unique=True, index=True)
    request_fetched_ms: int | None = Field(default=None, sa_type=BigInteger)


class AccessTokenRow(SQLModel, table=True):
    __tablename__ = "verifier_access_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=128)
    expires_ms: int = Field(sa_type=BigInteger)


class CounterUserRow(SQLModel, table=True):
    """A person who signs in to the counter page (`govid verifier counter-user`)."""

    __tablename__ = "verifier_counter_user"

    username: str = Field(primary_key=True, max_length=64)
    password_hash: str = Field(max_length=512)  # Argon2id, PHC string format
    disabled: bool = False
    created_ms: int = Field(sa_type=BigInteger)
    failed_logins: int = 0
    locked_until_ms: int = Field(default=0, sa_type=BigInteger)


class CounterLoginRow(SQLModel, table=True):
    """A signed-in browser: the cookie's SHA-256, whose it is, its CSRF token, its end."""

    __tablename__ = "verifier_counter_login"

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    csrf: str = Field(max_length=64)
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

    def take_request_object(self, handle: str, *, now_ms: int) -> SessionRow:
        """The session behind a one-time `request_uri` reference, marked fetched, exactly once.

        One conditional UPDATE, as for `claim`: of two concurrent fetches only
        one changes the row; the other, and every later one, is refused.
        """
        result: Any = self._s.exec(
            update(SessionRow)
            .where(SessionRow.request_handle == handle)  # type: ignore[arg-type]
            .where(SessionRow.request_fetched_ms.is_(None))  # type: ignore[union-attr]
            .where(SessionRow.status == PENDING)  # type: ignore[arg-type]
            .where(SessionRow.expires_ms > now_ms)  # type: ignore[arg-type]
            .values(request_fetched_ms=now_ms)
        )
        row = self._s.exec(select(SessionRow).where(SessionRow.request_handle == handle)).first()
        if row is None:
            raise SessionNotFound("no presentation request has this reference")
        if result.rowcount != 1:
            if row.request_fetched_ms is not None:
                raise RequestURIUsed(
                    "this request was fetched already; ask the counter for a new code"
                )
            raise SessionAlreadyUsed("this presentation request was answered or has expired")
        self._s.refresh(row)
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

    def delete_stale(self, *, now_ms: int, keep_ms: int) -> int:
        """Delete sessions expired more than `keep_ms` ago whose claims are gone, and
        access tokens past their expiry (issue 13 item 16: nothing is kept for ever).

        A session's outcome stays readable for `keep_ms` after it expired; its
        nonce and state are of no use by then. Returns the sessions deleted.
        """
        sessions: Any = self._s.exec(
            delete(SessionRow)
            .where(col(SessionRow.expires_ms) <= now_ms - keep_ms)
            .where(col(SessionRow.disclosed).is_(None))
        )
        self._s.exec(delete(AccessTokenRow).where(col(AccessTokenRow.expires_ms) <= now_ms))
        return int(sessions.rowcount)

    def add_token(self, row: AccessTokenRow) -> None:
        self._s.add(row)
        self._s.flush()

    def token(self, token_hash: str) -> AccessTokenRow | None:
        return self._s.get(AccessTokenRow, token_hash)


class SqlAccountStore:
    """Counter accounts and sign-ins in SQL. The caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def user(self, username: str) -> CounterUserRow | None:
        return self._s.get(CounterUserRow, username)

    def users(self) -> list[CounterUserRow]:
        return list(self._s.exec(select(CounterUserRow).order_by(CounterUserRow.username)))

    def add_user(self, row: CounterUserRow) -> None:
        self._s.add(row)
        self._s.flush()

    def charge_attempt(
        self, username: str, *, seen_failures: int, seen_locked_until_ms: int, locked_until_ms: int
    ) -> bool:
        """Count one sign-in attempt before its password is checked (compare and swap).

        Only the attempt that saw the row as it still is gets through, so
        concurrent guesses cannot all slip in before the first failure is counted.
        """
        result: Any = self._s.exec(
            update(CounterUserRow)
            .where(CounterUserRow.username == username)  # type: ignore[arg-type]
            .where(CounterUserRow.failed_logins == seen_failures)  # type: ignore[arg-type]
            .where(CounterUserRow.locked_until_ms == seen_locked_until_ms)  # type: ignore[arg-type]
            .values(failed_logins=seen_failures + 1, locked_until_ms=locked_until_ms)
        )
        return bool(result.rowcount == 1)

    def clear_failures(self, username: str, *, password_hash: str | None) -> None:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until_ms": 0}
        if password_hash is not None:
            values["password_hash"] = password_hash
        self._s.exec(
            update(CounterUserRow)
            .where(CounterUserRow.username == username)  # type: ignore[arg-type]
            .values(**values)
        )

    def set_disabled(self, username: str, disabled: bool) -> bool:
        result: Any = self._s.exec(
            update(CounterUserRow)
            .where(CounterUserRow.username == username)  # type: ignore[arg-type]
            .values(disabled=disabled)
        )
        return bool(result.rowcount == 1)

    def add_login(self, row: CounterLoginRow) -> None:
        self._s.add(row)
        self._s.flush()

    def login(self, token_hash: str) -> CounterLoginRow | None:
        return self._s.get(CounterLoginRow, token_hash)

    def end_login(self, token_hash: str) -> None:
        self._s.exec(
            delete(CounterLoginRow).where(CounterLoginRow.token_hash == token_hash)  # type: ignore[arg-type]
        )

    def end_logins_of(self, username: str) -> None:
        self._s.exec(
            delete(CounterLoginRow).where(CounterLoginRow.username == username)  # type: ignore[arg-type]
        )

    def purge_logins(self, *, now_ms: int) -> None:
        self._s.exec(
            delete(CounterLoginRow).where(CounterLoginRow.expires_ms <= now_ms)  # type: ignore[arg-type]
        )
