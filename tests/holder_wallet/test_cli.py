"""The command-line journey of issue 6: init, receive, list --json, present --yes, qr,
backup, restore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from did.errors import GovidError
from govid.cli_wallet import app
from tests.holder_wallet.world import TX_CODE, World


def _run(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_journey(world: World, tmp_path: Path) -> None:
    env = {
        "GOVID_WALLET_DIR": str(tmp_path / "w"),
        "GOVID_WALLET_PASSPHRASE": "cli pass",
        # The test world serves its issuer and verifier over loopback http.
        "GOVID_WALLET_ALLOW_LOOPBACK_HTTP": "true",
    }
    ledger = world.ledger
    _run(
        [
            "init",
            "--registry",
            ledger.url,
            "--log-vkey",
            ledger.log_vkey,
            "--witness",
            ledger.witness_vkey,
        ],
        env,
    )
    assert json.loads(_run(["list", "--json"], env)) == []

    received = json.loads(_run(["receive", world.issuer.offer()[0], "--tx-code", TX_CODE], env))
    listed = json.loads(_run(["list", "--json", "--status"], env))
    assert [c["id"] for c in listed] == [received[0]["id"]]
    assert listed[0]["status"] == "valid" and listed[0]["copies"] == 3
    cid = listed[0]["id"]

    uri, session = world.verifier.request()
    sent = json.loads(_run(["present", uri, "--yes"], env))
    assert sent["sent"] is True
    assert session.verified is not None and len(session.received) == 1

    out = tmp_path / "qr.png"
    challenge = json.dumps({"aud": "decentralized_identifier:did:govid:x", "nonce": "c1"})
    # Ids are token_urlsafe and may begin with '-': `--` ends the options.
    qr_args = ["--challenge", challenge, "--out", str(out), "--claim", "age_over_18"]
    _run(["qr", *qr_args, "--", cid], env)
    assert out.read_bytes().startswith(b"\x89PNG")
    history = json.loads(_run(["history"], env))
    assert sorted(h["kind"] for h in history) == ["offline", "openid4vp"]

    backup = tmp_path / "backup.json"
    _run(["backup", "--out", str(backup)], env)
    assert backup.stat().st_mode & 0o777 == 0o600
    other = {**env, "GOVID_WALLET_DIR": str(tmp_path / "w2"), "GOVID_WALLET_PASSPHRASE": "p2",
             "GOVID_WALLET_BACKUP_PASSPHRASE": "cli pass"}  # fmt: skip
    _run(["init", "--registry", ledger.url, "--log-vkey", ledger.log_vkey], other)
    assert json.loads(_run(["restore", str(backup)], other)) == {"restored": 1}
    assert [c["id"] for c in json.loads(_run(["list", "--json"], other))] == [cid]


def test_cli_present_without_yes_sends_nothing(world: World, tmp_path: Path) -> None:
    env = {
        "GOVID_WALLET_DIR": str(tmp_path / "w"),
        "GOVID_WALLET_PASSPHRASE": "cli pass",
        "GOVID_WALLET_ALLOW_LOOPBACK_HTTP": "true",
    }
    ledger = world.ledger
    _run(["init", "--registry", ledger.url, "--log-vkey", ledger.log_vkey], env)
    _run(["receive", world.issuer.offer()[0], "--tx-code", TX_CODE], env)
    uri, session = world.verifier.request()
    result = CliRunner().invoke(app, ["present", uri], env=env, input="")
    assert result.exit_code == 1
    assert all(r["vp_token"] is None for r in session.received)


def test_cli_wrong_passphrase(world: World, tmp_path: Path) -> None:
    env = {"GOVID_WALLET_DIR": str(tmp_path / "w"), "GOVID_WALLET_PASSPHRASE": "right"}
    _run(["init", "--registry", world.ledger.url, "--log-vkey", world.ledger.log_vkey], env)
    with pytest.raises(GovidError) as caught:
        _run(["list"], {**env, "GOVID_WALLET_PASSPHRASE": "wrong"})
    assert caught.value.code == "wallet.passphrase_invalid"
