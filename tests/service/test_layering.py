"""The layers of docs/architecture.md, read from the imports of every module.

`did/` imports no other govid package; `openid4vc/` (pure protocol code)
imports only `did/`; `service/` imports only `did/`; the services (issuer,
verifier, wallet) take web and database plumbing from `service/` and only
the ledger client from `registry/`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOVID_PACKAGES = (
    "did",
    "openid4vc",
    "service",
    "registry",
    "issuer",
    "verifier",
    "holder_wallet",
    "govid",
)
SERVICES = ("issuer", "verifier", "holder_wallet")
# What a service may not take from the ledger's package: its web and database plumbing.
LEDGER_PLUMBING = ("registry.api", "registry.migrations", "registry.witness")


def _imports(package: str) -> Iterator[tuple[str, str]]:
    """(module file, imported name) for every import in `package`, functions included."""
    for path in sorted((REPO / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(REPO))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield where, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield where, node.module
                for alias in node.names:
                    yield where, f"{node.module}.{alias.name}"


def _govid_package(name: str) -> str | None:
    top = name.split(".", 1)[0]
    return top if top in GOVID_PACKAGES else None


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("did", {"did"}),
        ("openid4vc", {"did", "openid4vc"}),
        ("service", {"did", "service"}),
    ],
)
def test_lower_layers_import_nothing_above_them(package: str, allowed: set[str]) -> None:
    wrong = {
        (where, name)
        for where, name in _imports(package)
        if (top := _govid_package(name)) is not None and top not in allowed
    }
    assert not wrong


@pytest.mark.parametrize("package", SERVICES)
def test_services_take_plumbing_from_service_and_only_the_client_from_the_ledger(
    package: str,
) -> None:
    wrong = {
        (where, name)
        for where, name in _imports(package)
        if name.startswith(LEDGER_PLUMBING) or name == "registry.store.make_engine"
    }
    assert not wrong
    others = {
        (where, name)
        for where, name in _imports(package)
        if (top := _govid_package(name)) in SERVICES and top != package
    }
    assert not others, "a service imports another service's internals"


def test_did_has_no_http_status_table() -> None:
    assert not (REPO / "did" / "http_status.py").exists()
    assert not any(
        name.startswith(("fastapi", "starlette", "sqlalchemy", "sqlmodel"))
        for _, name in _imports("did")
    )
