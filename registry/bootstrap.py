"""Genesis: a new registry's data directory, and entry 0 of its log.

The root authority is simply the DID created by the log's first entry
(method spec §5.6): auditors and clients learn it from the log itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from did.errors import Conflict, GovidError
from registry.authoring import create_did
from registry.config import write_secret
from registry.ledger import Appended, Ledger
from registry.note import NoteSigner
from registry.operations import Operation

DEFAULT_ORIGIN = "govid.example/registry"


class AlreadyInitialised(Conflict):
    code = "registry.already_initialised"


def init_registry(
    data_dir: Path,
    *,
    origin: str = DEFAULT_ORIGIN,
    witnesses: list[dict[str, str]] | None = None,
    quorum: int = 0,
) -> dict[str, Any]:
    """Write a new registry's files under `data_dir`; refuses to overwrite one."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / "registry.json").exists():
        raise AlreadyInitialised("this directory already holds a registry")
    signer = NoteSigner.generate(origin)
    root, genesis = create_did(ledger=origin)
    write_secret(data_dir / "log.key", signer.to_skey() + "\n")
    (data_dir / "log.vkey").write_text(signer.verifier().to_vkey() + "\n", encoding="ascii")
    write_secret(data_dir / "root-keys.json", root.dumps() + "\n")
    (data_dir / "genesis.op").write_text(genesis + "\n", encoding="ascii")
    info = {
        "origin": origin,
        "rootDid": root.did,
        "witnesses": witnesses or [],
        "quorum": quorum,
    }
    (data_dir / "registry.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return {**info, "vkey": signer.verifier().to_vkey()}


def append_genesis(ledger: Ledger, genesis: str) -> None:
    """Append the root's did.create as entry 0 if the log is empty (idempotent)."""
    if ledger.size() > 0:
        return
    (outcome,) = ledger.append_batch([Operation.parse(genesis, ledger=ledger.origin)])
    if isinstance(outcome, GovidError):
        raise outcome
    assert isinstance(outcome, Appended) and outcome.index == 0
