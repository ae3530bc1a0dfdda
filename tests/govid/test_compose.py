"""compose.yaml, parsed (no Docker engine here): every command exists, nothing is undocumented."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic_settings import BaseSettings

from govid.cli import app

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
DOCS = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
SERVICES = COMPOSE["services"]
GOVID_SERVICES = {name: s for name, s in SERVICES.items() if name != "postgres"}


def test_the_stack_has_every_piece() -> None:
    expected = {"postgres", "registry", "witness-1", "witness-2", "verifier", "wallet"}
    expected |= {"issuer-civil", "issuer-medical", "issuer-social"}
    assert expected <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(GOVID_SERVICES))
def test_service_runs_the_projects_image_with_a_real_command(name: str) -> None:
    service = GOVID_SERVICES[name]
    assert service["build"] == "."
    words: list[str] = service["command"]
    command = typer.main.get_command(app)
    path = []
    for word in words:
        subcommands = getattr(command, "commands", {})
        if word not in subcommands:
            break
        path.append(word)
        command = subcommands[word]
    assert path and not hasattr(command, "commands"), f"{words} is not a govid command"
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for flag in (w for w in words if w.startswith("--")):
        assert flag in options, f"govid {' '.join(path)} has no {flag}"


@pytest.mark.parametrize("name", sorted(set(SERVICES) - {"bootstrap"}))
def test_long_running_services_have_health_checks(name: str) -> None:
    assert SERVICES[name]["healthcheck"]["test"]


def _referenced_variables() -> set[str]:
    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    for service in SERVICES.values():
        names |= set((service.get("environment") or {}).keys())
    example = (REPO / "deploy" / "compose.env.example").read_text(encoding="utf-8")
    names |= set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    return names


@pytest.mark.parametrize("variable", sorted(_referenced_variables()))
def test_every_compose_variable_is_documented(variable: str) -> None:
    assert f"`{variable}`" in DOCS, f"{variable} is not in docs/configuration.md"


def _settings_classes() -> list[type[BaseSettings]]:
    from holder_wallet.settings import WalletSettings
    from issuer.settings import IssuerSettings
    from registry.config import RegistryConfig
    from registry.witness.config import WitnessConfig
    from verifier.settings import VerifierSettings

    return [RegistryConfig, WitnessConfig, IssuerSettings, VerifierSettings, WalletSettings]


@pytest.mark.parametrize("cls", _settings_classes(), ids=lambda c: c.__name__)
def test_every_setting_is_documented(cls: type[BaseSettings]) -> None:
    prefix = cls.model_config.get("env_prefix", "")
    for field in cls.model_fields:
        assert f"`{prefix}{field.upper()}`" in DOCS, f"{prefix}{field.upper()} undocumented"


def test_no_secret_is_committed() -> None:
    # Secrets reach the containers from .env, which git ignores.
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO, check=False
    ).returncode
    assert ignored == 0
    for service in SERVICES.values():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "KEK", "SECRET")):
                assert str(value).startswith("${"), f"{key} is written in compose.yaml"
    example = (REPO / "deploy" / "compose.env.example").read_text(encoding="utf-8")
    assert "change-me" in example.lower()


def test_dockerfile_installs_the_locked_runtime() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    # The same lock, frozen (never re-resolved), without the development group.
    installs = [line for line in dockerfile.splitlines() if "uv sync" in line]
    assert installs and all("--frozen" in line and "--no-dev" in line for line in installs)
    assert "COPY pyproject.toml uv.lock" in dockerfile
    (uv_version,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert f"pip install uv=={uv_version}" in dockerfile
    # Every package the wheel is built from is copied in.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"COPY {package} ./{package}" in dockerfile, package
    assert 'ENTRYPOINT ["govid"]' in dockerfile
    assert "USER govid" in dockerfile  # not root
