"""`govid verifier check` prints the report and exits non-zero on a refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from govid.cli_verifier import app
from tests.verifier.world import World, new_holder

AUD = "https://counter.example"


def _args(world: World, presentation: str, nonce: str) -> list[str]:
    return [
        "check",
        presentation,
        "--aud",
        AUD,
        "--nonce",
        nonce,
        "--registry",
        world.url,
        "--log-vkey",
        world.log_vkey,
        "--witness",
        world.witness_vkey,
        "--root-did",
        world.root.did,
    ]


def test_check_accepts_and_refuses(world: World, tmp_path: Path) -> None:
    holder = new_holder()
    credential = world.issue(holder=holder)
    good = World.present(credential, holder=holder, aud=AUD, nonce="n1", now=datetime.now(UTC))
    path = tmp_path / "presentation.txt"
    path.write_text(good)
    runner = CliRunner()
    result = runner.invoke(app, _args(world, str(path), "n1"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accepted"] is True

    refused = runner.invoke(app, _args(world, good, "another"))
    assert refused.exit_code == 1
    report = json.loads(refused.output)
    assert (report["failed_check"], report["error"]) == ("key_binding", "kb_jwt.nonce_mismatch")


def test_hash_secret_prints_a_value_the_verifier_accepts() -> None:
    from service.oauth import needs_rehash, verify_client_secret

    result = CliRunner().invoke(app, ["hash-secret"], input="counter secret\n")
    assert result.exit_code == 0, result.output
    stored = result.stdout.strip()
    assert "counter secret" not in result.stdout
    assert verify_client_secret("counter secret", stored) and not needs_rehash(stored)
    assert CliRunner().invoke(app, ["hash-secret"], input="").exit_code != 0
