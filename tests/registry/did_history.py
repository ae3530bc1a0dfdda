"""A registry on loopback with DIDs that have a history, for resolution tests.

Real signed operations: a DID with a service that was rotated (versions 1
and 2, keys `#key-1` then `#key-2`), and a DID that was created and then
deactivated (versions 1 and 2).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from registry import authoring
from registry.api.app import create_app
from registry.authoring import Keyring
from registry.bootstrap import init_registry
from registry.config import RegistryConfig
from registry.proofs import LedgerTrust
from tests.servers import serve

SERVICE = {"id": "#files", "type": "LinkedDomains", "serviceEndpoint": "https://files.example/v1/"}


@dataclass
class Registry:
    url: str
    http: httpx.Client
    trust: LedgerTrust
    vkey: str  # the log's note verifier key
    rotated: Keyring  # two versions: #key-1, then #key-2
    gone: Keyring  # created, then deactivated


def _submit(http: httpx.Client, op: str) -> int:
    response = http.post("/operations", json={"operation": op})
    assert response.status_code == 201, response.text
    index: int = response.json()["index"]
    return index


def _wait_covered(http: httpx.Client, index: int) -> None:
    # The sequencer signs a checkpoint after each batch: wait for one covering `index`.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = http.get("/checkpoint")
        if response.status_code == 200 and int(response.text.split("\n")[1]) > index:
            return
        time.sleep(0.02)
    raise AssertionError("no checkpoint covered the entry in time")


@contextmanager
def registry_with_history(data: Path) -> Iterator[Registry]:
    info = init_registry(data)
    config = RegistryConfig(data_dir=data)
    trust = LedgerTrust.unsafe_log_only(info["origin"], config.log_verifier())
    with serve(create_app(config)) as url, httpx.Client(base_url=url, timeout=30) as http:
        rotated, op = authoring.create_did(ledger=info["origin"], services=[SERVICE])
        _submit(http, op)
        gone, op = authoring.create_did(ledger=info["origin"])
        _submit(http, op)
        rotated, op = authoring.rotate(rotated)
        _submit(http, op)
        gone, op = authoring.deactivate(gone)
        _wait_covered(http, _submit(http, op))
        yield Registry(url, http, trust, info["vkey"], rotated, gone)
