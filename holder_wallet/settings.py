"""The wallet's settings: environment (`GOVID_WALLET_*`) over the wallet's `config.json`.

`govid wallet init` writes the ledger trust it was given (registry URL, log
key, witness keys, quorum) to `config.json` in the wallet directory; those are
public values, not secrets. The directory is `GOVID_WALLET_DIR`, else
`$XDG_DATA_HOME/govid/wallet`, else `~/.local/share/govid/wallet`.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from did.errors import MalformedInput
from holder_wallet.browser_guard import host_of_origin
from registry.proofs import LedgerTrust
from registry.trust import trust_from_vkeys
from service.settings import ServiceSettings

__all__ = ["CONFIG_FILE", "WalletSettings", "default_wallet_dir"]

CONFIG_FILE = "config.json"
_TRUST_FIELDS = ("registry_url", "log_vkey", "witness_vkeys", "quorum")
# Saved with the trust values: the development stack turns this on for its wallet.
_SAVED_FIELDS = (*_TRUST_FIELDS, "allow_loopback_http")


def default_wallet_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "govid" / "wallet"


class WalletSettings(ServiceSettings):
    """Explicit values, then the environment, then the wallet's `config.json`, then defaults."""

    model_config = SettingsConfigDict(env_prefix="GOVID_WALLET_")
    config_file = CONFIG_FILE
    data_dir_field = "dir"

    dir: Path = Field(default_factory=default_wallet_dir)
    registry_url: str | None = None
    log_vkey: str | None = None
    witness_vkeys: list[str] = Field(default_factory=list)
    quorum: int | None = Field(default=None, ge=1)
    idle_timeout_seconds: int = Field(default=300, ge=10, le=86400)
    batch_size: int = Field(default=3, ge=1, le=20)
    # OpenID4VCI/VP require TLS and the wallet refuses private addresses
    # (service.fetch). The development stack (`govid up`) turns this on for its
    # own wallet so that it reaches http://127.0.0.1; nothing else should.
    allow_loopback_http: bool = False
    # Origins the citizen's browser may use besides the loopback address and
    # port the web app listens on, e.g. the host side of a container's port
    # mapping: ["http://127.0.0.1:18407"]. Loopback only (issue 13 item 8).
    origins: list[str] = Field(default_factory=list, max_length=16)

    @field_validator("origins")
    @classmethod
    def _loopback_origins(cls, value: list[str]) -> list[str]:
        origins = [o.strip().lower().rstrip("/") for o in value]
        for origin in origins:
            host_of_origin(origin)  # ValueError: pydantic reports which entry
        return origins

    def save_trust(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        values = {k: getattr(self, k) for k in _SAVED_FIELDS}
        (self.dir / CONFIG_FILE).write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(seconds=self.idle_timeout_seconds)

    def ledger_trust(self) -> LedgerTrust:
        """What the wallet trusts on the ledger: the pinned log key and its witnesses."""
        if not self.registry_url or not self.log_vkey:
            raise MalformedInput(
                "the wallet has no registry configured; run 'govid wallet init --registry ...'"
            )
        return trust_from_vkeys(self.log_vkey, witness_vkeys=self.witness_vkeys, quorum=self.quorum)
