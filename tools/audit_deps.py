"""The dependency audit CI runs: `pip-audit -r requirements.lock`, read honestly.

    python -m tools.audit_deps [--lock requirements.lock] [--strict]

pip-audit answers "No known vulnerabilities found" with exit status 0 even
when it could check nothing: on a machine whose PyPI mirror has no per-version
JSON API (or no network), every package is *skipped* ("Dependency not found on
PyPI and could not be audited"). This step reads pip-audit's JSON report and
tells the three outcomes apart:

- a known vulnerability in a pinned package: listed, exit status 1 (fails CI);
- every package checked, none vulnerable: exit status 0;
- the vulnerability service unreachable, or packages left unchecked: a loud
  "NOT AUDITED" report naming how many, exit status 0 so that an offline CI
  machine does not fail spuriously, or 3 with `--strict` (or
  `GOVID_AUDIT_STRICT=1`), for a CI machine that has the network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROJECT = "govid"
VULNERABLE, NOT_AUDITED = 1, 3


@dataclass(frozen=True)
class Outcome:
    checked: int
    skipped: list[str]
    vulnerable: list[str]
    error: str | None = None

    @property
    def status(self) -> str:
        if self.vulnerable:
            return "vulnerable"
        if self.error is not None or self.skipped:
            return "not audited"
        return "clean"


def read_report(report: dict[str, Any]) -> Outcome:
    """Classify pip-audit's JSON report (`-f json`)."""
    skipped, vulnerable, checked = [], [], 0
    for dep in report.get("dependencies", []):
        name = str(dep.get("name")) + (f"=={dep['version']}" if "version" in dep else "")
        if "skip_reason" in dep:
            skipped.append(name)
            continue
        checked += 1
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            vulnerable.append(f"{name}: {vuln.get('id')} (fixed in {fixes})")
    return Outcome(checked, skipped, vulnerable)


def locked_pins(lock: Path) -> dict[str, set[str]]:
    """Every version uv.lock pins, by name, less the project.

    A universal lock may pin one package at several versions, one for each
    set of environment markers (numpy for Python 3.11 and for 3.12+).
    """
    pins: dict[str, set[str]] = {}
    for package in tomllib.loads(lock.read_text(encoding="utf-8"))["package"]:
        if package["name"] != PROJECT:
            pins.setdefault(package["name"], set()).add(package["version"])
    return pins


def requirement_sets(pins: dict[str, set[str]]) -> list[list[str]]:
    """Exact pins spread over as few files as let each name appear once per file."""
    sets: list[list[str]] = []
    for name, versions in sorted(pins.items()):
        for depth, version in enumerate(sorted(versions)):
            if depth == len(sets):
                sets.append([])
            sets[depth].append(f"{name}=={version}")
    return sets


def _pip_audit(requirements: Path, out: Path) -> Outcome:
    command = [
        sys.executable, "-m", "pip_audit", "-r", str(requirements),
        "--no-deps", "--disable-pip", "-f", "json", "-o", str(out),
        "--progress-spinner", "off", "--timeout", "20",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if not out.is_file() or not out.read_text().strip():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return Outcome(0, [], [], error=" / ".join(tail) or f"exit status {done.returncode}")
    return read_report(json.loads(out.read_text()))


def run_pip_audit(lock: Path) -> Outcome:
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, pins in enumerate(requirement_sets(locked_pins(lock))):
            requirements = Path(tmp) / f"requirements-{number}.txt"
            requirements.write_text("".join(f"{pin}\n" for pin in pins))
            outcomes.append(_pip_audit(requirements, Path(tmp) / f"audit-{number}.json"))
    errors = [o.error for o in outcomes if o.error is not None]
    return Outcome(
        checked=sum(o.checked for o in outcomes),
        skipped=[name for o in outcomes for name in o.skipped],
        vulnerable=[v for o in outcomes for v in o.vulnerable],
        error="; ".join(errors) if errors else None,
    )


def render(outcome: Outcome) -> str:
    lines = [f"dependency audit: {outcome.status.upper()}"]
    lines.append(f"  packages checked: {outcome.checked}; unchecked: {len(outcome.skipped)}")
    if outcome.error:
        lines.append(f"  pip-audit could not run: {outcome.error}")
    if outcome.skipped:
        lines.append(
            "  NOT AUDITED: the vulnerability service (PyPI's JSON API) did not answer for "
            f"{len(outcome.skipped)} package(s), e.g. {', '.join(outcome.skipped[:3])}. "
            "Run this step on a machine that reaches pypi.org, or with --strict to fail."
        )
    lines += [f"  VULNERABLE {v}" for v in outcome.vulnerable]
    return "\n".join(lines)


def exit_status(outcome: Outcome, *, strict: bool) -> int:
    if outcome.status == "vulnerable":
        return VULNERABLE
    if outcome.status == "not audited" and strict:
        return NOT_AUDITED
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, default=REPO / "uv.lock")
    parser.add_argument("--strict", action="store_true", default=None)
    args = parser.parse_args(argv)
    strict = bool(args.strict) or os.environ.get("GOVID_AUDIT_STRICT") == "1"
    outcome = run_pip_audit(args.lock)
    print(render(outcome), file=sys.stderr if outcome.status != "clean" else sys.stdout)
    return exit_status(outcome, strict=strict)


if __name__ == "__main__":
    sys.exit(main())
