"""The README's commands exist: every `govid ...` line names a real subcommand and flags."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from govid.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip().rstrip("&").strip()
            if line.startswith("govid "):
                commands.append(shlex.split(line)[1:])
    return commands


def _command_path(words: list[str]) -> tuple[list[str], list[str]]:
    """The subcommand path (descending through groups) and the flags used."""
    command = typer.main.get_command(app)
    path: list[str] = []
    for word in words:
        subcommands = getattr(command, "commands", {})
        if word not in subcommands:
            break
        path.append(word)
        command = subcommands[word]
    flags = [w.split("=", 1)[0] for w in words if w.startswith("--")]
    return path, flags


@pytest.mark.parametrize("words", _readme_commands(), ids=lambda w: " ".join(w[:2]))
def test_readme_command_exists_with_its_flags(words: list[str]) -> None:
    path, flags = _command_path(words)
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for flag in flags:
        assert flag in result.output, f"govid {' '.join(path)} has no {flag}"


def test_readme_opens_with_what_govid_is_and_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    head = text[:1500]
    assert "government agencies" in head
    assert "make run" in head and "make test" in head
