"""`govid verifier check` prints the report and exits non-zero on a refusal;
`govid verifier counter-user` manages the counter page's accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from govid.cli_verifier import app
from tests.verifier.world import World, new_holder
from verifier.accounts import CounterAccounts
from verifier.errors import (
    CounterLoginFailed,
    CounterUserExists,
    CounterUserInvalid,
    CounterUserNotFound,
)
from verifier.settings import engine_for

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


# --- govid verifier counter-user ------------------------------------------------------------


def _users(database_url: str, *args: str, password: str | None = None, stdin: str = "") -> Any:
    env = {"GOVID_VERIFIER_DATABASE_URL": database_url, "GOVID_COUNTER_PASSWORD": password}
    return CliRunner().invoke(app, ["counter-user", *args], input=stdin, env=env)


def test_counter_user_commands(database_url: str) -> None:
    added = _users(database_url, "add", "desk-1", password="a long enough password")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout) == {"username": "desk-1", "added": True}
    assert "a long enough password" not in added.output  # never echoed
    # The password from a prompt (typed twice) when the variable is not set.
    prompted = _users(database_url, "add", "desk-2", stdin="typed-password-123\n" * 2)
    assert prompted.exit_code == 0, prompted.output
    # Refusals are govid errors, printed by `govid` as code and sentence (exit 1).
    for args, password, error in (
        (("add", "desk-1"), "another long password", CounterUserExists),
        (("add", "desk-3"), "short", CounterUserInvalid),
        (("add", "Desk 3!"), "a long enough password", CounterUserInvalid),
        (("disable", "nobody"), None, CounterUserNotFound),
    ):
        refused = _users(database_url, *args, password=password)
        assert isinstance(refused.exception, error), refused.output

    disabled = _users(database_url, "disable", "desk-1")
    assert disabled.exit_code == 0, disabled.output
    listed = json.loads(_users(database_url, "list").stdout)["users"]
    assert [(u["username"], u["disabled"]) for u in listed] == [
        ("desk-1", True),
        ("desk-2", False),
    ]

    # What the CLI stored signs in (Argon2id), and a disabled account does not.
    engine = engine_for(database_url)
    try:
        accounts = CounterAccounts(engine, clock=lambda: datetime.now(UTC))
        assert accounts.login("desk-2", "typed-password-123").username == "desk-2"
        with pytest.raises(CounterLoginFailed):
            accounts.login("desk-1", "a long enough password")
        assert _users(database_url, "enable", "desk-1").exit_code == 0
        assert accounts.login("desk-1", "a long enough password").username == "desk-1"
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT password_hash FROM verifier_counter_user WHERE username = 'desk-1'")
            ).scalar_one()
        assert stored.startswith("$argon2id$")
    finally:
        engine.dispose()


def test_hash_secret_prints_a_value_the_verifier_accepts() -> None:
    from service.oauth import needs_rehash, verify_client_secret

    result = CliRunner().invoke(app, ["hash-secret"], input="counter secret\n")
    assert result.exit_code == 0, result.output
    stored = result.stdout.strip()
    assert "counter secret" not in result.stdout
    assert verify_client_secret("counter secret", stored) and not needs_rehash(stored)
    assert CliRunner().invoke(app, ["hash-secret"], input="").exit_code != 0
