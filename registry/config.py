"""The registry's settings and its data directory.

`govid registry init --data DIR` writes:

    DIR/registry.json    origin, root DID, witnesses and quorum (no secrets)
    DIR/log.key          the log's Ed25519 note signing key        (mode 0600)
    DIR/log.vkey         its public verifier key (C2SP vkey)
    DIR/root-keys.json   the root authority's private JWKs          (mode 0600)
    DIR/genesis.op       the root authority's did.create (appended as entry 0)
    DIR/registry.db      the SQLite ledger, unless a database URL is given

Settings: explicit values, then the environment (prefix `GOVID_REGISTRY_`),
then `registry.json` (its `quorum`), then defaults (`service.settings`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import Engine

from did.errors import MalformedInput
from registry.note import NoteSigner, NoteVerifier
from registry.sequencer import BatchSettings
from service.database import make_engine
from service.settings import ServiceSettings


@dataclass(frozen=True, slots=True)
class WitnessConfig:
    name: str
    url: str
    vkey: str


class RegistryConfig(ServiceSettings):
    """Validated at start: a bad value stops the service with a clear message."""

    model_config = SettingsConfigDict(env_prefix="GOVID_REGISTRY_")
    config_file = "registry.json"

    data_dir: Path
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in DIR")
    batch_size: int = Field(default=512, ge=1, le=10_000)
    batch_latency: float = Field(default=0.002, ge=0, le=1)
    checkpoint_interval: float = Field(default=0.25, ge=0, le=3600)
    witness_timeout: float = Field(default=5.0, gt=0, le=60)
    quorum: int | None = Field(default=None, ge=0, description="cosignatures required")
    write_quota: int = Field(
        default=60,
        ge=0,
        le=1_000_000,
        description="successful writes a minute per client that is not accredited; 0: no quota",
    )
    writer_token_hashes: list[str] = Field(
        default_factory=list,
        description="SHA-256 (hex) of bearer tokens whose writes are not held back",
    )

    _engine: Engine | None = None

    # --- the data directory ------------------------------------------------------

    def _file(self) -> dict[str, Any]:
        path = self.data_dir / "registry.json"
        if not path.is_file():
            raise MalformedInput("no registry here: run `govid registry init --data DIR` first")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    @property
    def origin(self) -> str:
        return str(self._file()["origin"])

    @property
    def root_did(self) -> str:
        return str(self._file()["rootDid"])

    @property
    def witnesses(self) -> list[WitnessConfig]:
        return [WitnessConfig(**w) for w in self._file().get("witnesses", [])]

    @property
    def required_cosignatures(self) -> int:
        if self.quorum is not None:
            return self.quorum
        return int(self._file().get("quorum", 0))

    @property
    def writers(self) -> frozenset[str]:
        """SHA-256 (lowercase hex) of the writer tokens: the settings' and `registry.json`'s
        `writers`. The tokens themselves are never stored here (method spec §10.1)."""
        hashes = [*self.writer_token_hashes, *self._file().get("writers", [])]
        for value in hashes:
            if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
                raise MalformedInput("a writer token hash is 64 lowercase hex digits (SHA-256)")
        return frozenset(hashes)

    def log_signer(self) -> NoteSigner:
        return NoteSigner.from_skey((self.data_dir / "log.key").read_text(encoding="ascii").strip())

    def log_vkey(self) -> str:
        return (self.data_dir / "log.vkey").read_text(encoding="ascii").strip()

    def log_verifier(self) -> NoteVerifier:
        return NoteVerifier.from_vkey(self.log_vkey())

    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url())
        return self._engine

    def ensure_schema(self) -> None:
        from registry.migrations import upgrade

        upgrade(self.engine())

    def batch_settings(self) -> BatchSettings:
        return BatchSettings(self.batch_size, self.batch_latency, self.checkpoint_interval)

    def genesis(self) -> str:
        return (self.data_dir / "genesis.op").read_text(encoding="ascii").strip()


def write_secret(path: Path, text: str) -> None:
    """Create `path` with mode 0600 from the first byte (no window where others can read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
