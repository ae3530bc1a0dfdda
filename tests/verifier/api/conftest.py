"""A real verifier on loopback for the access-control tests: two API clients, counter users.

`counter` serves the verifier app (uvicorn, real HTTP) on a fresh database
(SQLite and PostgreSQL), in front of the test session's real ledger; its
registry is reached through a relay that a test may cut (`counter.registry`).
Counter users are added through `CounterAccounts` (Argon2id, as the CLI does)
and sign in through the login form like a browser.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.client import RegistryClient
from registry.note import NoteVerifier
from registry.proofs import LedgerTrust
from service.oauth import hash_client_secret
from tests.servers import serve
from tests.verifier.relay import Relay, relay
from tests.verifier.world import World
from verifier.accounts import CounterAccounts
from verifier.api.app import create_app
from verifier.lookups import CachingLookups, RegistryLookups
from verifier.service import VerifierContext
from verifier.settings import engine_for

CLIENTS = {"desk-a": "desk-a-secret-0123456789abcdef", "desk-b": "desk-b-secret-0123456789abcdef"}
PASSWORDS = {"alice": "alice-password-0001", "bob": "bob-password-000002"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def challenge_of(page: str) -> dict[str, str]:
    """The offline challenge a counter page shows (what the wallet scans)."""
    match = re.search(r'id="challenge">([^<]+)<', page)
    assert match is not None, "the page shows an offline challenge"
    challenge: dict[str, str] = json.loads(html.unescape(match.group(1)))
    return challenge


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match is not None, "the page carries a CSRF token"
    return match.group(1)


@dataclass
class LookupClock:
    """The clock of the verifier's evidence cache, moved by the test (never slept on)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Counter:
    url: str
    context: VerifierContext
    engine: Engine
    accounts: CounterAccounts
    registry: Relay
    cache_clock: LookupClock

    def api(self, client_id: str) -> httpx.Client:
        """An API client with a bearer token (RFC 6749 §4.4 client credentials)."""
        token = httpx.post(
            self.url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, CLIENTS[client_id]),
        )
        assert token.status_code == 200, token.text
        bearer = token.json()["access_token"]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
        )

    def add_user(self, username: str) -> None:
        self.accounts.add_user(username, PASSWORDS[username])

    @contextlib.contextmanager
    def browser(self, username: str | None = None) -> Iterator[httpx.Client]:
        """A browser; signed in through the login form when `username` is given."""
        with httpx.Client(base_url=self.url, timeout=30) as browser:
            if username is not None:
                form = browser.get("/login")
                assert form.status_code == 200, form.text
                answer = browser.post(
                    "/login",
                    data={
                        "username": username,
                        "password": PASSWORDS[username],
                        "csrf": csrf_of(form.text),
                    },
                )
                assert answer.status_code == 303, answer.text
            yield browser

    def session_rows(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(text("SELECT count(*) FROM verifier_session")).scalar_one()
            )


@pytest.fixture
def counter(world: World, database_url: str) -> Iterator[Counter]:
    engine = engine_for(database_url)
    clock = LookupClock()
    log = NoteVerifier.from_vkey(world.log_vkey)
    with relay(world.url) as registry:
        client = RegistryClient(registry.url, trust=LedgerTrust.unsafe_log_only(world.origin, log))
        # The settings' defaults (verifier/settings.py), on a clock the test moves.
        lookups = CachingLookups(
            RegistryLookups(client),
            clock=clock,
            fresh_for=timedelta(seconds=60),
            stale_for=timedelta(seconds=900),
            status_stale_for=timedelta(seconds=120),
        )
        context = VerifierContext(
            engine=engine,
            policy=world.policy(),
            lookups=lookups,
            keyring=world.agencies["counter"].keyring,
            public_url="http://unset",
            clock=lambda: datetime.now(UTC),
            clients={c: hash_client_secret(s) for c, s in CLIENTS.items()},
        )
        app = create_app(context)
        with serve(app) as url:
            context.public_url = url
            yield Counter(url, context, engine, app.state.accounts, registry, clock)
        lookups.close()
    engine.dispose()
