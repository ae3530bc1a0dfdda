"""The issuer's settings: environment (`GOVID_ISSUER_*`) over `DIR/issuer.json` over defaults.

`govid issuer init --data DIR` writes `DIR/issuer.json` (no secrets). The
key-encryption key is only ever read from the environment (`GOVID_ISSUER_KEK`)
or given by the program, never from the file. Loading: `service.settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from service.settings import ServiceSettings

__all__ = ["CONFIG_FILE", "IssuerSettings", "load_settings"]

CONFIG_FILE = "issuer.json"


class IssuerSettings(ServiceSettings):
    """Validated at start: a bad value stops the service with a clear message."""

    model_config = SettingsConfigDict(env_prefix="GOVID_ISSUER_")
    config_file = CONFIG_FILE
    not_from_file = frozenset({"kek"})

    data_dir: Path | None = None
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in DIR")
    public_url: str = Field(default="http://127.0.0.1:8500", description="base URL, no path")
    vct_base: str | None = Field(default=None, description="base of vct URLs; public_url")
    kek: SecretStr | None = Field(default=None, description="32 bytes base64url")

    registry_url: str | None = None
    registry_log_vkey: str | None = None
    registry_witness_vkeys: list[str] = Field(default_factory=list)
    registry_quorum: int | None = Field(default=None, ge=0)
    # Sent with the issuer's writes so that the registry's quota on anonymous
    # writes does not hold them back (method spec §10.1).
    registry_write_token: SecretStr | None = None

    offer_ttl: int = Field(default=3600, ge=60, le=30 * 86400, description="seconds")
    wallet_token_ttl: int = Field(default=300, ge=30, le=3600)
    agency_token_ttl: int = Field(default=3600, ge=60, le=86400)
    nonce_ttl: int = Field(default=300, ge=30, le=3600)
    proof_max_age: int = Field(default=300, ge=30, le=3600)
    tx_code_length: int = Field(default=6, ge=4, le=10)
    max_tx_code_attempts: int = Field(default=5, ge=1, le=20)
    batch_size: int = Field(default=10, ge=1, le=100)
    # Random decoy digests per object, on top of the padding to the type's count.
    sd_decoys: int = Field(default=4, ge=0, le=32)
    # Failed client-secret checks (token endpoint, agency page) allowed per client
    # id in any window (issue 13 item 13); per address the FailureLimit middleware.
    login_failures_per_account: int = Field(default=10, ge=1, le=1000)
    login_failure_window: int = Field(default=900, ge=10, le=86_400, description="seconds")

    status_list_size: int = Field(default=131_072, ge=131_072)
    status_list_fill: float = Field(default=0.25, gt=0, le=0.9, description="share allocated")
    status_token_validity: int = Field(default=86_400, ge=600)
    status_token_ttl: int = Field(default=300, ge=1)
    publish_interval: float = Field(default=30.0, ge=0, description="0: only on request")
    purge_interval: float = Field(
        default=60.0, ge=0, le=3600, description="seconds between purges of expired rows; 0: never"
    )
    accreditation_cache_ttl: int = Field(default=60, ge=0)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    default_agency: str | None = Field(
        default=None,
        description="the agency whose Credential Issuer Identifier is public_url itself",
    )

    @property
    def vct_root(self) -> str:
        return (self.vct_base or self.public_url).rstrip("/")

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    def url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.data_dir is None:
            raise ValueError("set a database URL or a data directory")
        return f"sqlite:///{(self.data_dir / 'issuer.db').resolve()}"


def load_settings(data_dir: Path | None, **overrides: Any) -> IssuerSettings:
    """Settings for `data_dir`: `overrides`, then the environment, then its `issuer.json`."""
    return IssuerSettings.load(data_dir, **overrides)
