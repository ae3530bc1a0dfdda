"""The W3C DID test suite, installed once per lock and run over govid's implementation files.

The suite is read from `../shared/conformance/did-test-suite` (the nearest
ancestor directory holding `shared/conformance/did-test-suite`, or
`GOVID_DID_TEST_SUITE`) and never written to. It is copied into
`.conformance/suite-<key>/`, where `<key>` hashes every `package.json` and
`package-lock.json` of the pristine copy; `npm install` runs there once
(npm reaches the package registry only then) and a marker file records
success. Later runs with the same locks reuse the directory: offline.

The suite's specs take their implementation files from each suite's
`default.js`, unless jest's `globals.systemSuiteConfig` names others
(each `*.spec.js`). The copy is left untouched: a jest configuration
written beside the generated files sets that global to govid's files only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUITE_ENV = "GOVID_DID_TEST_SUITE"
SUITE_RELATIVE = Path("shared/conformance/did-test-suite")
SERVER = Path("packages/did-core-test-server")
INSTALLED = ".govid-installed"


class SuiteError(RuntimeError):
    """The suite could not be found, installed or run (not a test failure)."""


def find_suite(start: Path) -> Path:
    """The pristine suite: `$GOVID_DID_TEST_SUITE`, else the nearest `<ancestor>/shared/...`."""
    if env := os.environ.get(SUITE_ENV):
        path = Path(env)
        if not (path / SERVER).is_dir():
            raise SuiteError(f"{SUITE_ENV} does not point to the DID test suite")
        return path
    for ancestor in [start, *start.parents]:
        if (ancestor / SUITE_RELATIVE / SERVER).is_dir():
            return ancestor / SUITE_RELATIVE
    raise SuiteError(f"no {SUITE_RELATIVE} above {start}; set {SUITE_ENV}")


def lock_key(suite: Path) -> str:
    """A hash of every package manifest and lock of the suite (outside node_modules)."""
    digest = hashlib.sha256()
    names = ("package.json", "package-lock.json")
    files = sorted(
        p
        for name in names
        for p in suite.rglob(name)
        if "node_modules" not in p.relative_to(suite).parts
    )
    for path in files:
        digest.update(str(path.relative_to(suite)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def installed_suite(suite: Path, work: Path, *, log: Path) -> Path:
    """A copy of `suite` with its npm dependencies installed, cached by `lock_key`."""
    target = work / f"suite-{lock_key(suite)}"
    if (target / INSTALLED).is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SuiteError("npm is needed to install the DID test suite's dependencies")
    if target.exists():
        shutil.rmtree(target)  # an install that did not finish
    shutil.copytree(suite, target, ignore=shutil.ignore_patterns("node_modules", ".git"))
    # The root install runs `lerna bootstrap`, which installs each package and
    # links the suite's own jest-did-matcher into the test server.
    with log.open("wb") as out:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=target,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise SuiteError(f"npm install failed (exit {done.returncode}); see {log}")
    (target / INSTALLED).write_text(lock_key(suite) + "\n")
    for stale in work.glob("suite-*"):  # installs for locks that changed since
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    return target


def jest_config(
    server: Path, files: Mapping[str, Sequence[Path]], *, setup: Path
) -> dict[str, Any]:
    """A jest configuration that runs the suite's specs over `files` only.

    `files` maps the suite config keys (`didMethods`, `resolvers`,
    `dereferencers`) to implementation files. They are loaded by a setup file
    written to `setup`, inside each spec's own context: jest's `globals` are
    copied from another realm, where the suite's `instanceof Object` checks
    fail on every map.
    """
    lines = ["// Written by tools.conformance: govid's implementation files only."]
    lines.append("global.systemSuiteConfig = {")
    for key, paths in files.items():
        requires = ", ".join(f"require({json.dumps(str(p.resolve()))})" for p in paths)
        lines.append(f"  {key}: [{requires}],")
    lines.append("};")
    setup.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "rootDir": str(server),
        "testMatch": ["<rootDir>/suites/**/*.spec.js"],
        "setupFiles": [str(setup)],
        "setupFilesAfterEnv": ["jest-extended", "jest-did-matcher"],
        "testEnvironment": "node",
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    total: int
    passed: int
    failed: int
    todo: int
    suites_failed: int
    failures: tuple[str, ...]
    implementations: frozenset[str]

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.failed == 0 and self.suites_failed == 0


def read_outcome(report: dict[str, Any]) -> Outcome:
    """The counts and the failed tests' names of a jest `--json` report."""
    failures = []
    implementations = set()
    for suite in report.get("testResults", []):
        for test in suite.get("assertionResults", []):
            for title in test.get("ancestorTitles", []):
                if title.startswith("IMPLEMENTATION ::"):
                    implementations.add(title)
            if test.get("status") == "failed":
                failures.append(" > ".join([*test.get("ancestorTitles", []), test["title"]]))
    return Outcome(
        total=int(report.get("numTotalTests", 0)),
        passed=int(report.get("numPassedTests", 0)),
        failed=int(report.get("numFailedTests", 0)),
        # The suite's `it.todo` placeholders (3.2.2 relative DID URLs): not tests of govid.
        todo=int(report.get("numTodoTests", 0)) + int(report.get("numPendingTests", 0)),
        suites_failed=int(report.get("numRuntimeErrorTestSuites", 0)),
        failures=tuple(failures),
        implementations=frozenset(implementations),
    )


def run_jest(installed: Path, config: dict[str, Any], out: Path, *, log: Path) -> Outcome:
    """Run the suite's jest specs with `config`; the report lands in `out`."""
    server = installed / SERVER
    jest = server / "node_modules" / ".bin" / "jest"
    if not jest.exists():
        raise SuiteError(f"the suite's jest is missing from {server}")
    config_path = out / "jest.config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    report_path = out / "jest-report.json"
    report_path.unlink(missing_ok=True)
    with log.open("wb") as sink:
        subprocess.run(
            [
                str(jest),
                "--config",
                str(config_path),
                "--ci",
                "--silent",
                "--json",
                "--outputFile",
                str(report_path),
            ],
            cwd=server,
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=False,
            env={**os.environ, "CI": "true"},
        )
    if not report_path.exists():
        raise SuiteError(f"jest wrote no report; see {log}")
    return read_outcome(json.loads(report_path.read_text(encoding="utf-8")))
