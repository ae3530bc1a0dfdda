"""`python -m bench [--quick] [--suite NAME ...] [--profile SUBJECT]` (see bench/README.md)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._harness import RESULTS, Record, Settings, machine, merge_results, print_machine, profile

# Suite name -> module with `run(settings) -> list[Record]` (and optionally
# `subjects() -> dict[str, callable]` for --profile). Add new suites here.
DOCS = Path(__file__).resolve().parent.parent / "docs"

# The record names each suite owns (replaced as a whole when the suite runs).
PREFIXES: dict[str, tuple[str, ...]] = {
    "exchanges": ("exchange.",),
    "issuance": ("issuer.issue_inprocess", "issuer.import_"),
    "memory": ("memory.",),
    "registry": ("registry.",),
    "sdjwt": ("sdjwt.",),
    "status_lists": ("status_list.",),
    "verifier": ("verifier.", "http.verify."),
}

SUITES: dict[str, str] = {
    "exchanges": "bench.exchanges",
    "issuance": "bench.issuance",
    "memory": "bench.memory",
    "registry": "bench.registry",
    "sdjwt": "bench.sdjwt",
    "status_lists": "bench.status_lists",
    "verifier": "bench.http_verify",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few short rounds (smoke run)")
    parser.add_argument(
        "--suite", action="append", choices=sorted(SUITES), help="run only this suite (repeatable)"
    )
    parser.add_argument("--rounds", type=int, help="override the number of interleaved rounds")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})"
    )
    parser.add_argument(
        "--profile", metavar="SUBJECT", help="cProfile one subject (e.g. sdjwt.verify.ES256)"
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=DOCS,
        help=f"where PERFORMANCE.md and perf/*.png are written (default {DOCS})",
    )
    parser.add_argument(
        "--no-docs", action="store_true", help="write the results file only, no plots or page"
    )
    return parser


def write_docs(
    merged: list[dict[str, Any]], description: dict[str, Any], docs: Path, *, quick: bool
) -> None:
    """Plots into `docs/perf/`, the page into `docs/PERFORMANCE.md` (see bench/report.py)."""
    from bench import plots, report

    drawn = plots.render(merged, docs / "perf")
    report.write(merged, description, docs / "PERFORMANCE.md", drawn, quick=quick)
    print(f"wrote {docs / 'PERFORMANCE.md'} and {sum(drawn.values())} plots in {docs / 'perf'}")
    for aim, record, met in report.verdicts(merged):
        if record is not None:
            print(f"aim {aim.record}: {aim.shown(record)} {'met' if met else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    suites = args.suite or sorted(SUITES)
    if args.profile:
        for name in suites:
            module = importlib.import_module(SUITES[name])
            table: dict[str, Callable[[], object]] = getattr(module, "subjects", dict)()
            if args.profile in table:
                print(profile(table[args.profile]))
                return 0
        print(f"unknown subject {args.profile!r}", file=sys.stderr)
        return 2
    settings = Settings.for_mode(quick=args.quick)
    if args.rounds:
        settings = Settings(args.rounds, settings.batch_s)
    description = machine()
    description["load_average"] = list(os.getloadavg())
    print_machine(description)
    records: list[Record] = []
    for name in suites:
        print(f"\n[{name}] {settings.rounds} rounds of ~{settings.batch_s * 1000:.0f} ms batches")
        records.extend(importlib.import_module(SUITES[name]).run(settings))
    owned = [prefix for name in suites for prefix in PREFIXES.get(name, ())]
    merged = merge_results(records, args.output, replace_prefixes=owned)
    print(f"\nwrote {len(records)} records to {args.output}")
    description["run_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    description["quick"] = args.quick
    description["suites"] = suites
    machine_file = args.output.with_name("machine.json")
    machine_file.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    if not args.no_docs:
        write_docs(merged, description, args.docs, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
