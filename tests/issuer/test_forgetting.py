"""Offer claims at rest (issue 13 item 9), on an issuer built as a deployment builds it.

`issuer.api.app.build_context` opens the database (SQLite file 0600,
`secure_delete`) and the app purges on a timer: the sealed claim values of an
offer nobody redeemed are dropped once it expires, and on SQLite their bytes
leave the database file and the WAL too (read raw). SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from issuer.agencies import create_agency
from issuer.api.app import build_context, create_app
from issuer.context import IssuerContext, RegistryLedger
from issuer.credential_types import credential_type, vct_for
from issuer.keys_at_rest import new_kek_text
from issuer.settings import IssuerSettings
from issuer.store import OfferRow
from tests.issuer.conftest import CIVIL_CLAIMS, Clock, Registry
from tests.servers import serve


@dataclass
class Running:
    url: str
    ctx: IssuerContext
    clock: Clock
    token: str
    database: Path | None

    def offer(self, expires_in: int) -> str:
        body = {
            "credential_configuration_id": "civil_identity",
            "claims": CIVIL_CLAIMS,
            "expires_in": expires_in,
        }
        answer = httpx.post(
            self.url + "/api/offers",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        offer_id: str = answer.json()["id"]
        return offer_id

    def sealed_claims(self, offer_id: str) -> bytes | None:
        """The offer's sealed claims; None once they, or the whole expired offer, are gone."""
        with Session(self.ctx.engine) as session:
            row = session.get(OfferRow, offer_id)
            return None if row is None else row.claims

    def on_disk(self, needle: bytes) -> bool:
        assert self.database is not None
        wal = self.database.with_name(self.database.name + "-wal")
        return needle in self.database.read_bytes() or (wal.exists() and needle in wal.read_bytes())


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def _running(database_url: str, registry: Registry) -> Iterator[Running]:
    log_vkey = (registry.data / "log.vkey").read_text().strip()
    settings = IssuerSettings(
        database_url=database_url,
        kek=new_kek_text(),
        registry_url=registry.url,
        registry_log_vkey=log_vkey,
        publish_interval=0,
        accreditation_cache_ttl=0,
        purge_interval=0.05,
    )
    ctx = build_context(settings)  # as `govid issuer serve` builds it
    clock = Clock()
    ctx.clock = clock
    with serve(create_app(ctx)) as url:
        ctx.settings.public_url = url
        made = create_agency(ctx, slug="civil", name="civil agency", type_ids=["civil_identity"])
        registry.accredit(made["did"], [vct_for(credential_type("civil_identity"), url)])
        token = httpx.post(
            url + "/token",
            data={"grant_type": "client_credentials"},
            auth=(made["client_id"], made["client_secret"]),
        ).json()["access_token"]
        database = None
        if database_url.startswith("sqlite"):
            database = Path(database_url.removeprefix("sqlite:///"))
        yield Running(url, ctx, clock, token, database)
    assert isinstance(ctx.ledger, RegistryLedger)
    ctx.ledger.close()
    ctx.engine.dispose()


@pytest.fixture
def issuer(database_url: str, registry: Registry) -> Iterator[Running]:
    with _running(database_url, registry) as running:
        yield running


@pytest.fixture
def sqlite_issuer(tmp_path: Path, registry: Registry) -> Iterator[Running]:
    with _running(f"sqlite:///{tmp_path / 'issuer.db'}", registry) as running:
        yield running


def test_claims_of_an_expired_offer_are_purged_on_a_timer(issuer: Running) -> None:
    offer_id = issuer.offer(expires_in=120)
    sealed = issuer.sealed_claims(offer_id)
    assert sealed is not None
    if issuer.database is not None:
        assert issuer.on_disk(sealed), "the scan must see the sealed claims before"

    issuer.clock.advance(seconds=121)
    _wait_until(lambda: issuer.sealed_claims(offer_id) is None, "the timed purge")
    if issuer.database is not None:
        _wait_until(lambda: not issuer.on_disk(sealed), "sealed claims gone from the files")


def test_database_files_are_private(sqlite_issuer: Running) -> None:
    sqlite_issuer.offer(expires_in=120)
    assert sqlite_issuer.database is not None
    for suffix in ("", "-wal", "-shm"):
        path = sqlite_issuer.database.with_name(sqlite_issuer.database.name + suffix)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
