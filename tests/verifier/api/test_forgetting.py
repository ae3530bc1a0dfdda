"""Disclosed claims at rest (issue 13 item 9), against a verifier built as a deployment builds it.

`verifier.settings.build_context` opens the database (SQLite file 0600,
`secure_delete`), the app runs the purge timer, and a spec-level client
answers the request over HTTP. Then the raw database and WAL files are read:
claims the counter has read are in neither, claims nobody read are purged
once the request lifetime has passed, retained ones once retention ends
(SQLite and PostgreSQL for the purge).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session

from did.jose import parse_unverified_jws
from service.oauth import hash_client_secret
from tests.servers import serve
from tests.verifier.world import CIVIL_CLAIMS, World, new_holder
from verifier.api.app import create_app
from verifier.service import VerifierContext
from verifier.settings import VerifierSettings, build_context
from verifier.store import SessionRow

SECRET = "s3cret-for-tests-only-forgetting"
LIFETIME = 60  # request_lifetime_seconds: how long an unread result may wait
CIVIL = [["given_name"], ["family_name"], ["birthdate"], ["personal_id"]]
# Values that appear nowhere but in the disclosed claims.
VALUES = [
    CIVIL_CLAIMS["personal_id"].encode(),
    CIVIL_CLAIMS["family_name"].encode(),
    CIVIL_CLAIMS["birthdate"].encode(),
]


@dataclass
class Clock:
    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Running:
    url: str
    http: httpx.Client
    context: VerifierContext
    clock: Clock
    database: Path | None  # the SQLite file, None on PostgreSQL

    def answered_session(self, world: World) -> str:
        """A civil identity request answered by a citizen; its claims wait for the counter."""
        created = self.http.post("/api/presentation-requests", json={"template": "civil_identity"})
        assert created.status_code == 201, created.text
        query = parse_qs(urlsplit(created.json()["authorization_request"]).query)
        request_jwt = httpx.get(query["request_uri"][0]).text
        request = json.loads(parse_unverified_jws(request_jwt).payload)
        holder = new_holder()
        presentation = World.present(
            world.issue(holder=holder),
            holder=holder,
            disclose=CIVIL,
            aud=request["client_id"],
            nonce=request["nonce"],
            now=datetime.now(UTC),
        )
        query_id = request["dcql_query"]["credentials"][0]["id"]
        answer = httpx.post(
            request["response_uri"],
            data={"vp_token": json.dumps({query_id: [presentation]}), "state": request["state"]},
        )
        assert answer.status_code == 200, answer.text
        session_id: str = created.json()["id"]
        return session_id

    def stored_claims(self, session_id: str) -> str | None:
        with Session(self.context.engine) as session:
            row = session.get(SessionRow, session_id)
            assert row is not None
            return row.disclosed

    def files(self) -> dict[str, bytes]:
        """The database file and its WAL, raw ("-wal" is missing while nothing was written)."""
        assert self.database is not None
        wal = self.database.with_name(self.database.name + "-wal")
        return {"db": self.database.read_bytes(), "wal": wal.read_bytes() if wal.exists() else b""}

    def values_on_disk(self) -> dict[str, list[bytes]]:
        return {name: [v for v in VALUES if v in data] for name, data in self.files().items()}


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


@pytest.fixture
def start(world: World, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start a verifier on `database_url`: a SQLite file of its own unless told otherwise."""
    with contextlib.ExitStack() as stack:

        def _start(
            database_url: str = f"sqlite:///{tmp_path / 'verifier.db'}",
            *,
            retention_seconds: int | None = None,
            purge_every: float = 0.05,
        ) -> Running:
            keyring = tmp_path / "counter-keys.json"
            keyring.write_text(world.agencies["counter"].keyring.dumps())
            settings = VerifierSettings(
                registry_url=world.url,
                log_vkey=world.log_vkey,
                witness_vkeys=[world.witness_vkey],
                root_did=world.root.did,
                database_url=database_url,
                keyring_file=keyring,
                clients={"counter-1": hash_client_secret(SECRET)},
                request_lifetime_seconds=LIFETIME,
                retention_seconds=retention_seconds,
            )
            context = build_context(settings)  # as `govid verifier serve` builds it
            stack.callback(context.engine.dispose)
            clock = Clock()
            context.clock = clock
            url = stack.enter_context(serve(create_app(context, purge_every=purge_every)))
            context.public_url = url
            token = httpx.post(
                url + "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=("counter-1", SECRET),
            ).json()["access_token"]
            http = stack.enter_context(
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            )
            database = None
            if database_url.startswith("sqlite"):
                database = Path(database_url.removeprefix("sqlite:///"))
            return Running(url, http, context, clock, database)

        yield _start


def test_claims_read_by_the_counter_are_in_neither_the_database_nor_its_wal(
    start: Callable[..., Running], world: World
) -> None:
    # Raw files: SQLite only (PostgreSQL's files belong to its server).
    verifier = start(purge_every=3600)  # no timed checkpoint: forgetting must do it
    assert verifier.database is not None
    first = verifier.answered_session(world)
    # SQLite checkpoints the WAL by itself now and then (every 1000 pages): then
    # the claims sit in the database file's pages, not only in the WAL.
    with sqlite3.connect(verifier.database) as raw:
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)")
    second = verifier.answered_session(world)
    before = verifier.values_on_disk()
    assert before == {"db": VALUES, "wal": VALUES}, "the scan must see the claims before"

    for session_id in (first, second):
        shown = verifier.http.get(f"/api/presentation-requests/{session_id}").json()
        assert shown["disclosed"]["civil_identity"][0]["personal_id"] == "P-123456"
        assert verifier.stored_claims(session_id) is None

    assert verifier.values_on_disk() == {"db": [], "wal": []}


def test_claims_nobody_reads_are_purged_when_the_request_lifetime_has_passed(
    start: Callable[..., Running], world: World, database_url: str
) -> None:
    verifier = start(database_url)
    session_id = verifier.answered_session(world)
    verifier.clock.offset = timedelta(seconds=LIFETIME - 5)
    assert verifier.context.purge_expired() == 0  # still in its time
    assert verifier.stored_claims(session_id) is not None

    verifier.clock.offset = timedelta(seconds=LIFETIME + 1)
    _wait_until(lambda: verifier.stored_claims(session_id) is None, "the timed purge")
    if verifier.database is not None:
        _wait_until(
            lambda: not any(verifier.values_on_disk().values()), "claims gone from the files"
        )
    shown = verifier.http.get(f"/api/presentation-requests/{session_id}").json()
    assert shown["status"] == "accepted" and shown["disclosed"] is None


def test_expired_sessions_and_tokens_are_deleted_a_day_after_they_expire(
    start: Callable[..., Running], world: World, database_url: str
) -> None:
    verifier = start(database_url)
    session_id = verifier.answered_session(world)
    verifier.clock.offset = timedelta(seconds=LIFETIME + 1)
    _wait_until(lambda: verifier.stored_claims(session_id) is None, "the claims' purge")
    # The verdict stays readable for a day after expiry ...
    assert verifier.http.get(f"/api/presentation-requests/{session_id}").status_code == 200
    verifier.clock.offset = timedelta(seconds=LIFETIME + 86_400 + 1)

    def gone() -> bool:
        with Session(verifier.context.engine) as session:
            return session.get(SessionRow, session_id) is None

    # ... then the session row is deleted by the timer, nonce and state with it.
    _wait_until(gone, "the stale session's deletion")


def test_retained_claims_are_purged_when_retention_ends(
    start: Callable[..., Running], world: World, database_url: str
) -> None:
    verifier = start(database_url, retention_seconds=600)
    session_id = verifier.answered_session(world)
    read = verifier.http.get(f"/api/presentation-requests/{session_id}").json()
    assert read["disclosed"] is not None
    verifier.clock.offset = timedelta(seconds=LIFETIME + 1)  # past the unread limit, not retention
    assert verifier.context.purge_expired() == 0
    assert verifier.stored_claims(session_id) is not None

    verifier.clock.offset = timedelta(seconds=601)
    _wait_until(lambda: verifier.stored_claims(session_id) is None, "the end of retention")


def test_database_files_are_private(start: Callable[..., Running], world: World) -> None:
    verifier = start()
    verifier.answered_session(world)
    assert verifier.database is not None
    for suffix in ("", "-wal", "-shm"):
        path = verifier.database.with_name(verifier.database.name + suffix)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
