"""A forked or rolled-back log is caught by clients and by witnesses (real HTTP servers)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from did.errors import GovidError
from registry import authoring
from registry.api.app import create_app
from registry.bootstrap import init_registry
from registry.client import RegistryClient
from registry.config import RegistryConfig
from registry.proofs import LedgerTrust
from registry.witness.app import create_witness_app
from registry.witness.config import WitnessConfig, init_witness
from tests.servers import serve

pytestmark = pytest.mark.slow


@contextmanager
def registry_at(data: Path) -> Iterator[str]:
    with serve(create_app(RegistryConfig(data_dir=data))) as url:
        yield url


def _wait_size(url: str, size: int, *, cosigned: bool = False) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = httpx.get(url + "/log/checkpoints").json()["checkpoints"]
        if any(r["size"] >= size and (r["cosignatures"] > 0 or not cosigned) for r in rows):
            return
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of size {size}")


class WitnessAnswers:
    """ASGI wrapper around a witness app: the statuses of its add-checkpoint answers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/add-checkpoint"):
            await self.app(scope, receive, send)
            return

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, recording_send)

    def wait_for_refusal(self, after: int, timeout: float = 20.0) -> None:
        """Until an answer after the first `after` ones refused a checkpoint (4xx)."""
        deadline = time.monotonic() + timeout
        while not any(400 <= status < 500 for status in self.statuses[after:]):
            assert time.monotonic() < deadline, f"the witness refused nothing: {self.statuses}"
            time.sleep(0.02)


def _add_dids(url: str, origin: str, count: int) -> list[str]:
    dids = []
    for _ in range(count):
        keyring, op = authoring.create_did(ledger=origin)
        assert httpx.post(url + "/operations", json={"operation": op}).status_code == 201
        dids.append(keyring.did)
    return dids


def test_client_detects_a_fork_and_a_rollback(tmp_path: Path) -> None:
    data = tmp_path / "reg"
    info = init_registry(data)
    config = RegistryConfig(data_dir=data)
    trust = LedgerTrust.unsafe_log_only(info["origin"], config.log_verifier())
    client = RegistryClient("http://unset", trust=trust)
    try:
        _fork_and_rollback(client, data, tmp_path, info["origin"])
    finally:
        client.close()


def _fork_and_rollback(client: RegistryClient, data: Path, tmp_path: Path, origin: str) -> None:
    info = {"origin": origin}
    with registry_at(data) as url:
        first = _add_dids(url, info["origin"], 2)
        _wait_size(url, 3)
    snapshot = tmp_path / "snapshot"
    shutil.copytree(data, snapshot)  # the operator keeps a copy of the log at size 3

    with registry_at(data) as url:
        _add_dids(url, info["origin"], 2)
        _wait_size(url, 5)
        client.base_url = url
        client.resolve(first[0])
        assert client.largest_checkpoint is not None
        assert client.largest_checkpoint.size == 5

    # The same log key, the old copy, different entries: a fork at size 3.
    with registry_at(snapshot) as url:
        client.base_url = url
        with pytest.raises(GovidError) as rollback:
            client.resolve(first[0])  # only size 3 is signed there yet
        assert rollback.value.code == "checkpoint.rollback"
        _add_dids(url, info["origin"], 3)
        _wait_size(url, 6)
        with pytest.raises(GovidError) as fork:
            client.resolve(first[0])
        assert fork.value.code == "ledger.consistency_proof_invalid"


def test_witness_refuses_to_cosign_a_fork(tmp_path: Path) -> None:
    data = tmp_path / "reg"
    info = init_registry(data)
    wdata = tmp_path / "witness"
    wvkey = init_witness(
        wdata, name="witness.example", logs=[{"origin": info["origin"], "vkey": info["vkey"]}]
    )
    witness = WitnessAnswers(create_witness_app(WitnessConfig(data_dir=wdata)))
    with serve(witness) as witness_url:
        import json

        reg = json.loads((data / "registry.json").read_text())
        reg["witnesses"] = [{"name": "witness.example", "url": witness_url, "vkey": wvkey}]
        reg["quorum"] = 1
        (data / "registry.json").write_text(json.dumps(reg))

        with registry_at(data) as url:
            _add_dids(url, info["origin"], 2)
            _wait_size(url, 3, cosigned=True)
        snapshot = tmp_path / "snapshot"
        shutil.copytree(data, snapshot)
        with registry_at(data) as url:
            _add_dids(url, info["origin"], 2)
            _wait_size(url, 5, cosigned=True)

        with registry_at(snapshot) as url:
            answered = len(witness.statuses)
            _add_dids(url, info["origin"], 3)
            _wait_size(url, 6)
            witness.wait_for_refusal(after=answered)
            rows = httpx.get(url + "/log/checkpoints").json()["checkpoints"]
            forked = [r for r in rows if r["size"] > 3]
            assert forked and all(r["cosignatures"] == 0 for r in forked)
            # With a quorum of one, the registry still serves its last cosigned head.
            served = httpx.get(url + "/checkpoint").text
            assert served.split("\n")[1] == "3"
