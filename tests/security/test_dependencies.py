"""uv.lock pins what runs, and the audit step reads pip-audit honestly.

The audit itself needs PyPI's JSON API; it runs as its own CI step
(`python -m tools.audit_deps`), not here, so that the suite stays offline.
Here: every distribution in this environment is the version uv.lock pins,
every declared dependency is locked, and the step's reading of pip-audit's
report is right in the three cases (clean, vulnerable, not audited).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest

from tools.audit_deps import (
    NOT_AUDITED,
    PROJECT,
    REPO,
    VULNERABLE,
    exit_status,
    locked_pins,
    read_report,
    render,
    requirement_sets,
)

LOCK = REPO / "uv.lock"


def _norm(name: str) -> str:
    # PEP 503 normalisation, as uv.lock writes names.
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, str]:
    found = {}
    for dist in metadata.distributions():
        name = _norm(dist.metadata["Name"])
        if name != PROJECT:
            found[name] = dist.version
    return found


def test_every_installed_distribution_is_the_locked_version() -> None:
    pins = {_norm(name): versions for name, versions in locked_pins(LOCK).items()}
    drift = {
        name: (version, sorted(pins.get(name, {"not locked"})))
        for name, version in _installed().items()
        if version not in pins.get(name, set())
    }
    assert not drift, f"installed (version, locked): {drift}; run `make venv`"


def test_every_declared_dependency_is_locked_and_installed() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = [*pyproject["project"]["dependencies"], *pyproject["dependency-groups"]["dev"]]
    pins = {_norm(name): versions for name, versions in locked_pins(LOCK).items()}
    installed = _installed()
    for requirement in declared:
        name = _norm(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name in pins, f"{name} is declared but not in uv.lock; run `make lock`"
        assert installed.get(name) in pins[name], f"{name}: not installed at {pins[name]}"


def test_the_lock_agrees_with_pyproject() -> None:
    # uv records the requirements it resolved; a dependency added to
    # pyproject.toml without `make lock` leaves them behind.
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (project,) = [p for p in lock["package"] if p["name"] == PROJECT]
    locked_runtime = {r["name"] for r in project["metadata"]["requires-dist"]}
    locked_dev = {r["name"] for r in project["metadata"]["requires-dev"]["dev"]}
    declared_runtime = {
        _norm(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0])
        for r in pyproject["project"]["dependencies"]
    }
    declared_dev = {
        _norm(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0])
        for r in pyproject["dependency-groups"]["dev"]
    }
    assert {_norm(n) for n in locked_runtime} == declared_runtime
    assert {_norm(n) for n in locked_dev} == declared_dev


def test_each_audit_file_names_a_package_once() -> None:
    sets = requirement_sets({"numpy": {"2.5.5", "2.4.6"}, "anyio": {"4.16.0"}})
    assert sets == [["anyio==4.16.0", "numpy==2.4.6"], ["numpy==2.5.5"]]


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
