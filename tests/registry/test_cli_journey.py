"""The registry journey from the README, with real processes: init, witnesses, DIDs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import Server, govid, wait_for_checkpoint

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, object]]:
    info = json.loads(govid("registry", "init", "--data", str(tmp_path / "reg")).stdout)
    origin, log_vkey = info["origin"], info["vkey"]
    servers: list[Server] = []
    witness_vkeys = []
    try:
        for name in ("witness-a.example", "witness-b.example"):
            data = tmp_path / name
            w = json.loads(
                govid(
                    "witness",
                    "init",
                    "--data",
                    str(data),
                    "--name",
                    name,
                    "--log",
                    f"{origin}={log_vkey}",
                ).stdout
            )
            server = Server(["witness", "serve", "--data", str(data)], log=tmp_path / f"{name}.log")
            servers.append(server.start())
            witness_vkeys.append(w["vkey"])
            govid(
                "registry",
                "add-witness",
                "--data",
                str(tmp_path / "reg"),
                "--name",
                name,
                "--url",
                server.url,
                "--vkey",
                w["vkey"],
                "--quorum",
                str(len(witness_vkeys)),
            )
        registry = Server(
            ["registry", "serve", "--data", str(tmp_path / "reg")], log=tmp_path / "registry.log"
        )
        servers.append(registry.start())
        yield {
            "url": registry.url,
            "vkey": log_vkey,
            "witnesses": witness_vkeys,
            "root_keys": tmp_path / "reg" / "root-keys.json",
            "tmp": tmp_path,
        }
    finally:
        for server in reversed(servers):
            server.stop()


def _trust_args(stack: dict[str, object]) -> list[str]:
    args = ["--registry", str(stack["url"]), "--log-vkey", str(stack["vkey"])]
    for vkey in stack["witnesses"]:  # type: ignore[attr-defined]
        args += ["--witness", vkey]
    return args


def test_did_life_cycle_through_witnessed_registry(stack: dict[str, object]) -> None:
    url, tmp = str(stack["url"]), Path(str(stack["tmp"]))
    key = tmp / "agency.json"
    did = govid("did", "create", "--registry", url, "--key-out", str(key)).stdout.strip()
    assert did.startswith("did:govid:")
    assert key.stat().st_mode & 0o777 == 0o600
    note = wait_for_checkpoint(url, 2)
    assert note.count("\u2014 ") == 3, (
        "the checkpoint carries the log's and two witnesses' signatures"
    )

    resolved = json.loads(govid("did", "resolve", did, *_trust_args(stack)).stdout)
    assert resolved["didDocument"]["id"] == did
    assert resolved["didDocumentMetadata"]["versionId"] == "1"
    assert resolved["didResolutionMetadata"]["verifiedBy"] == "ledgerProof"

    govid(
        "registry",
        "accredit",
        "--issuer",
        did,
        "--vct",
        "https://govid.example/vct/civil",
        "--registry",
        url,
        "--key",
        str(stack["root_keys"]),
    )
    accs = httpx.get(f"{url}/accreditations/{did}").json()["accreditations"]
    assert [a["credentialTypes"] for a in accs] == [["https://govid.example/vct/civil"]]

    govid("did", "rotate", "--registry", url, "--key", str(key))
    wait_for_checkpoint(url, 4)
    latest = json.loads(govid("did", "resolve", did, *_trust_args(stack)).stdout)
    first = json.loads(
        govid("did", "resolve", did, "--version-id", "1", *_trust_args(stack)).stdout
    )
    assert latest["didDocument"]["verificationMethod"][0]["id"].endswith("#key-2")
    assert first["didDocument"]["verificationMethod"][0]["id"].endswith("#key-1")

    govid("did", "deactivate", "--registry", url, "--key", str(key), "--yes")
    wait_for_checkpoint(url, 5)
    gone = govid("did", "resolve", did, *_trust_args(stack), check=False)
    body = json.loads(gone.stdout)
    assert body["didDocumentMetadata"]["deactivated"] is True
    assert "verificationMethod" not in body["didDocument"]

    witnesses = [arg for v in stack["witnesses"] for arg in ("--witness", v)]  # type: ignore[attr-defined]
    audit = govid("registry", "audit", url, "--log-vkey", str(stack["vkey"]), *witnesses)
    assert "OK" in audit.stdout and "entries: 5" in audit.stdout


def test_resolution_refused_when_witness_policy_unmet(stack: dict[str, object]) -> None:
    url = str(stack["url"])
    args = ["--registry", url, "--log-vkey", str(stack["vkey"])]
    other = govid(
        "witness", "init", "--data", str(Path(str(stack["tmp"])) / "w3"), "--name", "w3.example"
    )
    vkey3 = json.loads(other.stdout)["vkey"]
    wait_for_checkpoint(url, 1)
    root = json.loads(Path(str(stack["root_keys"])).read_text())["did"]
    # A witness the registry never asked: its cosignature cannot be there.
    result = govid("did", "resolve", root, *args, "--witness", vkey3, check=False)
    assert result.returncode == 1
    assert json.loads(result.stdout)["didResolutionMetadata"]["error"] != ""
