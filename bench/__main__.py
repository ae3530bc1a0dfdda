"""`python -m bench [--quick] [--suite NAME ...] [--profile SUBJECT]` (see bench/README.md)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from bench._harness import RESULTS, Record, Settings, machine, merge_results, print_machine, profile

# Suite name -> module with `run(settings) -> list[Record]` (and optionally
# `subjects() -> dict[str, callable]` for --profile). Add new suites here.
SUITES: dict[str, str] = {"registry": "bench.registry", "sdjwt": "bench.sdjwt"}


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
    return parser


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
    print_machine(machine())
    records: list[Record] = []
    for name in suites:
        print(f"\n[{name}] {settings.rounds} rounds of ~{settings.batch_s * 1000:.0f} ms batches")
        records.extend(importlib.import_module(SUITES[name]).run(settings))
    merge_results(records, args.output)
    print(f"\nwrote {len(records)} records to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
