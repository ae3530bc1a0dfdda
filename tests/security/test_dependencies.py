"""The lock file pins what runs, and the audit step reads pip-audit honestly.

The audit itself needs PyPI's JSON API; it runs as its own CI step
(`python -m tests.security.audit_deps`), not here, so that the suite stays
offline. Here: the lock covers every runtime and dev dependency, exactly
pinned, at the versions installed; and the step's reading of pip-audit's
report is right in the three cases (clean, vulnerable, not audited).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest

from tests.security.audit_deps import (
    NOT_AUDITED,
    REPO,
    VULNERABLE,
    exit_status,
    read_report,
    render,
)

LOCK = REPO / "requirements.lock"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version and ";" not in version, f"not an exact pin: {line}"
        pins[_norm(name)] = version
    return pins


def test_every_declared_dependency_is_pinned_at_the_installed_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = _locked()
    assert "govid" not in pins, "the project itself is not a dependency"
    for requirement in declared:
        name = _norm(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name in pins, f"{name} is not in requirements.lock"
        assert metadata.version(name) == pins[name], f"{name}: installed version differs"


def test_locked_versions_are_installed() -> None:
    for name, version in _locked().items():
        assert metadata.version(name) == version, f"{name} {version} is locked, not installed"


def _report(*deps: dict[str, object]) -> dict[str, object]:
    return {"dependencies": list(deps), "fixes": []}


@pytest.mark.parametrize(
    ("report", "status", "lenient", "strict"),
    [
        (_report({"name": "a", "version": "1", "vulns": []}), "clean", 0, 0),
        (
            _report(
                {"name": "a", "version": "1", "vulns": [{"id": "PYSEC-1", "fix_versions": ["2"]}]}
            ),
            "vulnerable",
            VULNERABLE,
            VULNERABLE,
        ),
        (
            _report(
                {
                    "name": "a",
                    "skip_reason": "Dependency not found on PyPI and could not be audited",
                }
            ),
            "not audited",
            0,
            NOT_AUDITED,
        ),
    ],
)
def test_audit_outcomes(report: dict[str, object], status: str, lenient: int, strict: int) -> None:
    outcome = read_report(report)
    assert outcome.status == status
    assert exit_status(outcome, strict=False) == lenient
    assert exit_status(outcome, strict=True) == strict
    assert status.upper() in render(outcome)
