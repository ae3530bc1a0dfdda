"""The protocol packages keep their place in the layering (docs/architecture.md).

- `did/` and `openid4vc/` are pure: no HTTP client, web framework or database;
  `openid4vc/` imports nothing of govid but `did/`.
- `service/` never imports `registry/`, `openid4vc/` or a service.
- Nothing imports a private module of another package (`did._b64` was one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOVID_PACKAGES = {
    "did",
    "openid4vc",
    "service",
    "registry",
    "issuer",
    "verifier",
    "holder_wallet",
    "govid",
}
IO_LIBRARIES = {"httpx", "httpcore", "fastapi", "starlette", "sqlmodel", "sqlalchemy", "uvicorn"}


def _imports(package: str) -> Iterator[tuple[Path, str]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                yield from ((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", ["did", "openid4vc"])
def test_pure_packages_do_no_io(package: str) -> None:
    found = [(p.name, m) for p, m in _imports(package) if _top(m) in IO_LIBRARIES]
    assert not found, found


def test_openid4vc_builds_on_did_only() -> None:
    allowed = {"did", "openid4vc"}
    found = [(p.name, m) for p, m in _imports("openid4vc") if _top(m) in GOVID_PACKAGES - allowed]
    assert not found, found


def test_service_imports_no_ledger_and_no_service() -> None:
    allowed = {"did", "service"}
    found = [(p.name, m) for p, m in _imports("service") if _top(m) in GOVID_PACKAGES - allowed]
    assert not found, found


@pytest.mark.parametrize("package", sorted(GOVID_PACKAGES))
def test_no_private_module_of_another_package_is_imported(package: str) -> None:
    found = [
        (p.relative_to(ROOT).as_posix(), m)
        for p, m in _imports(package)
        if _top(m) in GOVID_PACKAGES
        and _top(m) != package
        and any(part.startswith("_") and part != "__init__" for part in m.split(".")[1:])
    ]
    assert not found, found
