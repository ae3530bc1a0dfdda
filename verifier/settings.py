"""The verifier's settings: environment (`GOVID_VERIFIER_*`) over `DIR/verifier.json`.

A deployment pins the log key, the witnesses and the quorum: the verifier
never trusts the registry operator alone. `build_context` turns settings
into the `VerifierContext` the app and the CLI run on.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import Engine

from registry.authoring import Keyring
from registry.client import RegistryClient
from registry.proofs import LedgerTrust
from registry.trust import trust_from_vkeys
from service.database import make_engine
from service.private_files import private_database
from service.settings import ServiceSettings
from verifier.lookups import CachingLookups, RegistryLookups
from verifier.policy import TrustPolicy
from verifier.service import VerifierContext

CONFIG_FILE = "verifier.json"


class VerifierSettings(ServiceSettings):
    """Validated at start: a bad value stops the service with a clear message."""

    model_config = SettingsConfigDict(env_prefix="GOVID_VERIFIER_")
    config_file = CONFIG_FILE

    data_dir: Path | None = Field(default=None, description="holds verifier.json")
    registry_url: str
    log_vkey: str
    witness_vkeys: list[str] = Field(min_length=1)
    quorum: int | None = Field(default=None, ge=1)
    root_did: str
    database_url: str = "sqlite:///verifier.db"
    keyring_file: Path | None = Field(default=None, description="the verifier DID's keyring")
    public_url: str = "http://127.0.0.1:8403"
    vct_base: str = "https://govid.example"
    accepted_vcts: list[str] | None = None
    clients: dict[str, str] = Field(
        default_factory=dict, description="id -> service.oauth.hash_client_secret of its secret"
    )
    skew_seconds: int = Field(default=60, ge=0, le=600)
    kb_max_age_seconds: int = Field(default=300, ge=10, le=3600)
    status_list_max_age_seconds: int = Field(default=86400, ge=60)
    max_checkpoint_age_seconds: int | None = Field(default=86400, ge=60)
    cache_fresh_seconds: int = Field(default=60, ge=0)
    cache_stale_seconds: int = Field(default=900, ge=0)
    # Status lists from the cache while the registry is unreachable: much shorter
    # than the rest, so a revocation reaches an offline counter soon (issue 13 item 4).
    offline_status_max_age_seconds: int = Field(default=120, ge=0)
    counter_session_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    request_lifetime_seconds: int = Field(default=300, ge=30, le=3600)
    retention_seconds: int | None = Field(default=None, ge=0)

    @classmethod
    def from_file(cls, values: dict[str, Any], directory: Path) -> dict[str, Any]:
        """Paths in `verifier.json` are relative to its directory, so the directory can move."""
        keyring = values.get("keyring_file")
        if isinstance(keyring, str) and not Path(keyring).is_absolute():
            values["keyring_file"] = str(directory / keyring)
        values.setdefault("database_url", f"sqlite:///{(directory / 'verifier.db').resolve()}")
        return values

    def ledger_trust(self) -> LedgerTrust:
        age = self.max_checkpoint_age_seconds
        return trust_from_vkeys(
            self.log_vkey,
            witness_vkeys=self.witness_vkeys,
            quorum=self.quorum,
            max_checkpoint_age=None if age is None else timedelta(seconds=age),
        )

    def policy(self) -> TrustPolicy:
        return TrustPolicy(
            root_did=self.root_did,
            ledger=self.ledger_trust(),
            accepted_vcts=None if self.accepted_vcts is None else frozenset(self.accepted_vcts),
            skew=timedelta(seconds=self.skew_seconds),
            kb_max_age=timedelta(seconds=self.kb_max_age_seconds),
            status_list_max_age=timedelta(seconds=self.status_list_max_age_seconds),
        )

    def lookups(self) -> CachingLookups:
        # The log key only: the witness quorum is the engine's `ledger_proof` check.
        client = RegistryClient(self.registry_url, trust=trust_from_vkeys(self.log_vkey))
        fresh = self.cache_fresh_seconds
        stale = max(self.cache_stale_seconds, fresh)
        return CachingLookups(
            RegistryLookups(client),
            clock=lambda: datetime.now(UTC),
            fresh_for=timedelta(seconds=fresh),
            stale_for=timedelta(seconds=stale),
            status_stale_for=timedelta(
                seconds=max(min(self.offline_status_max_age_seconds, stale), fresh)
            ),
        )


def load_settings(data_dir: Path | None, **overrides: Any) -> VerifierSettings:
    """Settings: `overrides`, then the environment, then `DIR/verifier.json`."""
    return VerifierSettings.load(data_dir, **overrides)


def build_context(settings: VerifierSettings) -> VerifierContext:
    if settings.keyring_file is None:
        raise ValueError("GOVID_VERIFIER_KEYRING_FILE names the verifier DID's keyring")
    keyring = Keyring.from_json(json.loads(settings.keyring_file.read_text(encoding="utf-8")))
    retention = settings.retention_seconds
    return VerifierContext(
        engine=private_database(make_engine(settings.database_url)),
        policy=settings.policy(),
        lookups=settings.lookups(),
        keyring=keyring,
        public_url=settings.public_url.rstrip("/"),
        clock=lambda: datetime.now(UTC),
        vct_base=settings.vct_base,
        request_lifetime=timedelta(seconds=settings.request_lifetime_seconds),
        retention=None if retention is None else timedelta(seconds=retention),
        clients=settings.clients,
        counter_session_lifetime=timedelta(seconds=settings.counter_session_seconds),
    )


def database_url(data_dir: Path | None) -> str:
    """The verifier's database as `load_settings` finds it, without the trust settings.

    For commands that only manage the database (`govid verifier counter-user`).
    """
    if url := os.environ.get("GOVID_VERIFIER_DATABASE_URL"):
        return str(url)
    if data_dir is not None and (data_dir / CONFIG_FILE).is_file():
        values = json.loads((data_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        configured = values.get("database_url")
        if isinstance(configured, str) and configured:
            return configured
        return f"sqlite:///{(data_dir / 'verifier.db').resolve()}"
    return str(VerifierSettings.model_fields["database_url"].default)


def database_engine(data_dir: Path | None) -> Engine:
    """An engine on `database_url(data_dir)`."""
    return engine_for(database_url(data_dir))


def engine_for(url: str) -> Engine:
    """The verifier's engine on a database URL (SQLite or PostgreSQL)."""
    return private_database(make_engine(url))
