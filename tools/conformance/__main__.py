"""`make conformance`: the W3C DID test suite over govid's real output.

    python -m tools.conformance [--work .conformance]

1. Generate the implementation files from real resolutions and
   dereferencings (`tools.conformance.generate`) into `<work>/run/out`.
2. Install the suite once per lock (`tools.conformance.suite`).
3. Run every suite's specs over govid's files only, and fail (exit status 1)
   on any failing test, on a spec file that could not run, and when one of
   govid's files was not run at all. A suite that could not be found or
   installed is exit status 2.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from tools.conformance.generate import generate
from tools.conformance.suite import (
    Outcome,
    SuiteError,
    find_suite,
    installed_suite,
    jest_config,
    run_jest,
)

REPO = Path(__file__).resolve().parents[2]
_KEYS = {"did-": "didMethods", "resolver-": "resolvers", "dereferencer-": "dereferencers"}


def _by_suite_key(files: list[Path]) -> dict[str, list[Path]]:
    grouped: dict[str, list[Path]] = {key: [] for key in _KEYS.values()}
    for path in files:
        key = next(k for prefix, k in _KEYS.items() if path.name.startswith(prefix))
        grouped[key].append(path)
    return grouped


def _report(outcome: Outcome, files: list[Path], seconds: float) -> int:
    print(
        f"W3C DID test suite over govid: {outcome.passed} passed, {outcome.failed} failed, "
        f"{outcome.todo} todo in the suite, {outcome.total} in all; "
        f"{len(files)} implementation files ({seconds:.0f} s)"
    )
    for name in sorted(outcome.implementations):
        print(f"  {name}")
    for failure in outcome.failures[:50]:
        print(f"FAILED {failure}")
    if len(outcome.failures) > 50:
        print(f"... and {len(outcome.failures) - 50} more")
    if outcome.suites_failed:
        print(f"{outcome.suites_failed} spec file(s) could not run; see the jest log")
    ran = {name.split("::")[2] for name in outcome.implementations}
    missing = sorted({_implementation(p) for p in files} - ran)
    for name in missing:
        print(f"NOT RUN {name}")
    return 0 if outcome.ok and not missing else 1


def _implementation(path: Path) -> str:
    import json

    name: str = json.loads(path.read_text(encoding="utf-8"))["implementation"]
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.conformance", description=__doc__)
    parser.add_argument("--work", type=Path, default=REPO / ".conformance")
    args = parser.parse_args(argv)
    work: Path = args.work.resolve()
    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    (run / "out").mkdir(parents=True)
    started = time.monotonic()
    try:
        suite = find_suite(REPO)
        installed = installed_suite(suite, work, log=work / "npm-install.log")
        files = generate(run / "out", run)
        config = jest_config(
            installed / "packages/did-core-test-server",
            _by_suite_key(files),
            setup=run / "govid-implementations.js",
        )
        outcome = run_jest(installed, config, run, log=run / "jest.log")
    except SuiteError as exc:
        print(f"error: conformance.suite_unavailable: {exc}", file=sys.stderr)
        return 2
    return _report(outcome, files, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
