"""A witness's data directory and settings.

DIR/witness.json   {"name": ..., "logs": [{"origin": ..., "vkey": ...}]}
DIR/witness.key    the cosigning key, base64 Ed25519 seed     (mode 0600)
DIR/witness.vkey   its public verifier key (cosignature/v1 vkey)
DIR/witness.db     SQLite state, unless a database URL is given
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from did.errors import Conflict, MalformedInput
from registry.config import write_secret
from registry.cosignature import CosignatureSigner
from registry.note import NoteVerifier
from service.settings import ServiceSettings


class WitnessAlreadyInitialised(Conflict):
    code = "witness.already_initialised"


class WitnessConfig(ServiceSettings):
    """Settings: explicit values, then the environment (`GOVID_WITNESS_`), then defaults."""

    model_config = SettingsConfigDict(env_prefix="GOVID_WITNESS_")

    data_dir: Path
    database_url: str | None = Field(default=None)

    def _file(self) -> dict[str, Any]:
        path = self.data_dir / "witness.json"
        if not path.is_file():
            raise MalformedInput("no witness here: run `govid witness init --data DIR` first")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    @property
    def name(self) -> str:
        return str(self._file()["name"])

    def known_logs(self) -> dict[str, NoteVerifier]:
        return {log["origin"]: NoteVerifier.from_vkey(log["vkey"]) for log in self._file()["logs"]}

    def signer(self) -> CosignatureSigner:
        seed = base64.b64decode((self.data_dir / "witness.key").read_text().strip())
        return CosignatureSigner(self.name, Ed25519PrivateKey.from_private_bytes(seed))

    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'witness.db').resolve()}"


def init_witness(data_dir: Path, *, name: str, logs: list[dict[str, str]]) -> str:
    """Create a witness's files; returns its vkey (give it to the log operator)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / "witness.json").exists():
        raise WitnessAlreadyInitialised("this directory already holds a witness")
    for log in logs:
        NoteVerifier.from_vkey(log["vkey"])  # refuse a bad log key now, not at first request
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    write_secret(data_dir / "witness.key", base64.b64encode(seed).decode() + "\n")
    vkey = CosignatureSigner(name, key).verifier().to_vkey()
    (data_dir / "witness.vkey").write_text(vkey + "\n", encoding="ascii")
    info = {"name": name, "logs": logs}
    (data_dir / "witness.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return vkey


def add_log(data_dir: Path, *, origin: str, vkey: str) -> None:
    """Follow one more log (or replace the key of a followed one)."""
    NoteVerifier.from_vkey(vkey)
    path = data_dir / "witness.json"
    info = json.loads(path.read_text(encoding="utf-8"))
    info["logs"] = [log for log in info["logs"] if log["origin"] != origin]
    info["logs"].append({"origin": origin, "vkey": vkey})
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
