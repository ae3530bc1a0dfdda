"""An issuer stack for tests: a real registry and a real issuer, each on loopback.

The registry runs from a fresh data directory; the issuer's database comes
from the suite's `database_url` fixture (SQLite, and PostgreSQL when
configured). Agencies are created through the issuer's own domain code and
accredited by the root authority with a real signed `accreditation.grant`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuer.agencies import create_agency
from issuer.api.app import create_app
from issuer.context import IssuerContext, RegistryLedger
from issuer.credential_types import credential_type, vct_for
from issuer.keys_at_rest import KEK, new_kek_text
from issuer.settings import IssuerSettings
from issuer.store import make_engine
from registry import authoring
from registry.api.app import create_app as create_registry_app
from registry.authoring import Keyring
from registry.bootstrap import init_registry
from registry.client import RegistryClient
from registry.config import RegistryConfig
from registry.proofs import LedgerTrust
from tests.servers import serve


@dataclass
class Clock:
    """A clock tests move by hand; starts at the real time so ledger times agree."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


@dataclass
class Registry:
    url: str
    data: Path
    trust: LedgerTrust

    def client(self) -> RegistryClient:
        return RegistryClient(self.url, trust=self.trust)

    def accredit(self, did: str, vcts: Sequence[str]) -> None:
        path = self.data / "root-keys.json"
        root = Keyring.from_json(json.loads(path.read_text()))
        now = int(time.time())
        new, op = authoring.grant(
            root,
            subject=did,
            role="issuer",
            credential_types=list(vcts),
            valid_from=now - 3600,
            valid_until=now + 86400 * 30,
        )
        with self.client() as client:
            client.submit(op)
            path.write_text(new.dumps())
            wait_until(lambda: _holds(client, did, vcts))


def _holds(client: RegistryClient, did: str, vcts: Sequence[str]) -> bool:
    try:
        found = client.accreditations(did)
    except Exception:  # the checkpoint covering the grant is not signed yet
        return False
    return any(set(vcts) <= set(a.credential_types) for a in found)


def wait_until(condition: object, *, what: str = "condition") -> None:
    """Poll `condition` (a callable) until true; a generous deadline, not a timed assertion."""
    assert callable(condition)
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    data = tmp_path / "registry"
    info = init_registry(data)
    config = RegistryConfig(data_dir=data)
    trust = LedgerTrust.unsafe_log_only(info["origin"], config.log_verifier())
    with serve(create_registry_app(config)) as url:
        yield Registry(url, data, trust)


@dataclass
class Agency:
    slug: str
    did: str
    client_id: str
    client_secret: str


@dataclass
class Stack:
    url: str
    ctx: IssuerContext
    clock: Clock
    registry: Registry
    agencies: dict[str, Agency]

    def vct(self, configuration_id: str) -> str:
        return vct_for(credential_type(configuration_id), self.url)

    def agency_token(self, slug: str, scope: str | None = None) -> str:
        agency = self.agencies[slug]
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        response = httpx.post(
            self.url + "/token", data=form, auth=(agency.client_id, agency.client_secret)
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def api(self, slug: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.agency_token(slug)}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


# Which agency may issue what on the ledger, and what its clients may ask for.
AGENCIES = {
    "civil": (["civil_identity", "birth_certificate"], ["civil_identity"]),
    "social": (["social_security_card", "medical_insurance_card"], ["social_security_card"]),
}


def make_context(database_url: str, registry: Registry, clock: Clock) -> IssuerContext:
    settings = IssuerSettings(
        database_url=database_url,
        kek=new_kek_text(),
        publish_interval=0,  # tests publish on request: deterministic batches
        purge_interval=0,  # and purge when they say (test_purge starts its own timer)
        accreditation_cache_ttl=0,
        tx_code_length=6,
        max_tx_code_attempts=3,
        batch_size=4,
    )
    assert settings.kek is not None
    client = registry.client()
    return IssuerContext(
        settings,
        make_engine(database_url),
        KEK.parse(settings.kek.get_secret_value()),
        RegistryLedger(client),
        clock=clock,
    )


@pytest.fixture
def stack(database_url: str, registry: Registry) -> Iterator[Stack]:
    clock = Clock()
    ctx = make_context(database_url, registry, clock)
    with serve(create_app(ctx)) as url:
        ctx.settings.public_url = url
        agencies = {}
        for slug, (types, accredited) in AGENCIES.items():
            made = create_agency(ctx, slug=slug, name=f"{slug} agency", type_ids=types)
            agencies[slug] = Agency(slug, made["did"], made["client_id"], made["client_secret"])
            registry.accredit(made["did"], [vct_for(credential_type(t), url) for t in accredited])
        yield Stack(url, ctx, clock, registry, agencies)
    assert isinstance(ctx.ledger, RegistryLedger)
    ctx.ledger.close()
    ctx.engine.dispose()


CIVIL_CLAIMS: dict[str, Any] = {
    "personal_id": "CZ-4471-0093",
    "given_name": "Alma",
    "family_name": "Novak",
    "birthdate": "1950-06-01",
    "nationality": "CZ",
    "address": {"street_address": "Na Prikope 1", "locality": "Praha", "country": "CZ"},
}
