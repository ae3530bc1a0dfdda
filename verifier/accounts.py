"""Counter accounts: the people who sign in to the counter page, and their sign-ins.

The counter page shows citizens' disclosed claims, so it is never open: a
person signs in with a name and password of the verifier's own accounts
(managed with `govid verifier counter-user ...`) and gets a session cookie.

- Passwords are stored as Argon2id hashes (RFC 9106, argon2-cffi's defaults:
  the "low memory" recommendation, 64 MiB, t=3, p=4), rehashed on sign-in
  when the parameters change. At most `MAX_HASHING` hashes run at once, so a
  flood of sign-ins cannot exhaust memory.
- Failed sign-ins are limited per account: the first `FREE_FAILURES` cost
  nothing, each further one locks the account for `backoff(n)` (30 s,
  doubling, at most 15 min); a success clears the count. An attempt is
  counted *before* its password is checked, with a compare-and-swap on the
  account row, so concurrent guesses cannot all run before the first failure
  is counted. (Per client address, the app's failure limit applies too.)
- An unknown name costs the same hash as a known one, and the answer does
  not say which part was wrong, nor that an account is disabled.
- A sign-in is a random cookie value (only its SHA-256 is stored) with an
  absolute expiry and its own CSRF token; signing out or disabling the
  account ends it at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from verifier.errors import (
    CounterLoginFailed,
    CounterLoginThrottled,
    CounterUserExists,
    CounterUserInvalid,
    CounterUserNotFound,
)
from verifier.owners import user_owner
from verifier.store import CounterLoginRow, CounterUserRow, SqlAccountStore

__all__ = ["CounterAccounts", "CounterLogin", "backoff", "check_password", "check_username"]

USERNAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_PASSWORD: Final = 12  # NIST SP 800-63B §3.1.1.2 asks for at least 8; a counter shares a desk
MAX_PASSWORD: Final = 1024  # bounds the hashing work one request can ask for
FREE_FAILURES: Final = 5
BACKOFF_BASE: Final = timedelta(seconds=30)
BACKOFF_MAX: Final = timedelta(minutes=15)
MAX_HASHING: Final = 2
DEFAULT_LIFETIME: Final = timedelta(hours=8)  # one working day at the counter

_FAILED = "the name or the password is not right"


def check_username(username: str) -> None:
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise CounterUserInvalid(
            "a counter user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a "
            "letter or digit"
        )


def check_password(password: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise CounterUserInvalid(
            f"a counter password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )


def backoff(failures: int) -> timedelta:
    """How long an account is locked after its `failures`-th failed sign-in in a row."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    doublings = min(failures - FREE_FAILURES - 1, 16)
    wait: timedelta = min(BACKOFF_BASE * (2**doublings), BACKOFF_MAX)
    return wait


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CounterLogin:
    """A signed-in browser. `token` is only known right after signing in (the cookie)."""

    username: str
    csrf: str
    expires_ms: int
    token: str | None = None

    @property
    def owner(self) -> str:
        return user_owner(self.username)


class CounterAccounts:
    """Counter accounts and sign-ins over the verifier's database."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        lifetime: timedelta = DEFAULT_LIFETIME,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._lifetime = lifetime
        self._hasher = hasher or PasswordHasher()
        self._hashing = threading.BoundedSemaphore(MAX_HASHING)
        self._decoy: str | None = None

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    def _session(self) -> Session:
        return Session(self._engine, expire_on_commit=False)

    def _hash(self, password: str) -> str:
        with self._hashing:
            return self._hasher.hash(password)

    def _verify(self, encoded: str, password: str) -> bool:
        with self._hashing:
            try:
                return self._hasher.verify(encoded, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    # --- management (the CLI) -----------------------------------------------------------

    def add_user(self, username: str, password: str) -> None:
        check_username(username)
        check_password(password)
        row = CounterUserRow(
            username=username, password_hash=self._hash(password), created_ms=_ms(self._clock())
        )
        try:
            with self._session() as session, session.begin():
                store = SqlAccountStore(session)
                if store.user(username) is not None:
                    raise CounterUserExists("a counter user with this name exists")
                store.add_user(row)
        except IntegrityError as exc:  # added by someone else meanwhile
            raise CounterUserExists("a counter user with this name exists") from exc

    def users(self) -> list[dict[str, Any]]:
        now = _ms(self._clock())
        with self._session() as session:
            rows = SqlAccountStore(session).users()
        return [
            {
                "username": r.username,
                "disabled": r.disabled,
                "created_at": r.created_ms // 1000,
                "locked": r.locked_until_ms > now,
            }
            for r in rows
        ]

    def set_disabled(self, username: str, *, disabled: bool) -> None:
        """Disable (or enable again) an account; disabling signs it out everywhere."""
        with self._session() as session, session.begin():
            store = SqlAccountStore(session)
            if not store.set_disabled(username, disabled):
                raise CounterUserNotFound("no counter user has this name")
            if disabled:
                store.end_logins_of(username)

    # --- signing in and out (the page) -----------------------------------------------------

    def login(self, username: str, password: str) -> CounterLogin:
        """Check a name and password; return a new sign-in (with its cookie token).

        Steps: (1) the shapes (too long a password is never hashed); (2) the
        account, or a decoy hash for an unknown or disabled one; (3) refused
        while locked; (4) the attempt counted first (compare and swap); (5) the
        password; (6) the count cleared and a sign-in created.
        """
        now = self._clock()
        try:  # (1)
            check_username(username)
            check_password(password)
        except CounterUserInvalid as exc:
            raise CounterLoginFailed(_FAILED) from exc
        with self._session() as session:  # (2)
            row = SqlAccountStore(session).user(username)
        if row is None or row.disabled:
            self._verify(self._decoy_hash(), password)
            raise CounterLoginFailed(_FAILED)
        if row.locked_until_ms > _ms(now):  # (3)
            raise CounterLoginThrottled(
                "too many failed sign-ins for this account; try again later",
                retry_after=max(1, -(-(row.locked_until_ms - _ms(now)) // 1000)),
            )
        failures = row.failed_logins + 1
        with self._session() as session, session.begin():  # (4)
            charged = SqlAccountStore(session).charge_attempt(
                username,
                seen_failures=row.failed_logins,
                seen_locked_until_ms=row.locked_until_ms,
                locked_until_ms=_ms(now + backoff(failures)),
            )
        if not charged:
            raise CounterLoginThrottled(
                "another sign-in for this account is being checked; try again", retry_after=1
            )
        if not self._verify(row.password_hash, password):  # (5)
            raise CounterLoginFailed(_FAILED)
        rehash = None
        if self._hasher.check_needs_rehash(row.password_hash):
            rehash = self._hash(password)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_ms = _ms(now + self._lifetime)
        with self._session() as session, session.begin():  # (6)
            store = SqlAccountStore(session)
            store.clear_failures(username, password_hash=rehash)
            store.purge_logins(now_ms=_ms(now))
            store.add_login(
                CounterLoginRow(
                    token_hash=_digest(token), username=username, csrf=csrf, expires_ms=expires_ms
                )
            )
        return CounterLogin(username, csrf, expires_ms, token)

    def signed_in(self, token: str | None) -> CounterLogin | None:
        """The sign-in behind a cookie value: None when unknown, expired or disabled."""
        if not token or len(token) > 128:
            return None
        now_ms = _ms(self._clock())
        with self._session() as session:
            store = SqlAccountStore(session)
            login = store.login(_digest(token))
            if login is None or login.expires_ms <= now_ms:
                return None
            user = store.user(login.username)
        if user is None or user.disabled:
            return None
        return CounterLogin(login.username, login.csrf, login.expires_ms)

    def logout(self, token: str | None) -> None:
        if token and len(token) <= 128:
            with self._session() as session, session.begin():
                SqlAccountStore(session).end_login(_digest(token))

    def _decoy_hash(self) -> str:
        # A hash with the same parameters, so an unknown name costs what a known one does.
        if self._decoy is None:
            self._decoy = self._hash(secrets.token_urlsafe(16))
        return self._decoy
