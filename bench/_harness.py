"""A small benchmark harness whose figures are ratios measured in one run.

Absolute times on a shared 2-core machine move by tens of percent from one
minute to the next; the ratio of two operations timed side by side moves far
less. So every figure here compares a *subject* with a *reference* measured in
the same process, in interleaved batches (A B, B A, A B, ...: alternating the
order cancels a linear drift), and reports the median over rounds of the
per-round ratio. Absolute µs/op and ops/s are printed too, with a description
of the machine, so that a reader can tell a slow machine from a slow change.

Results are written to `bench/results/latest.json` as a list of records
`{"name", "value", "unit", "reference", "ratio"}`. Suites share the file:
records with the names a run produces are replaced, all others are kept.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS",
    "Comparison",
    "Record",
    "Settings",
    "compare",
    "machine",
    "merge_results",
    "print_machine",
    "profile",
]

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# Distributions whose versions change the figures (printed when installed).
_LIBRARIES = ("cryptography", "PyNaCl", "jwcrypto", "sd-jwt")


@dataclass(frozen=True, slots=True)
class Settings:
    """How long to measure: `rounds` interleaved pairs of batches of ~`batch_s` each."""

    rounds: int
    batch_s: float

    @classmethod
    def for_mode(cls, *, quick: bool) -> Settings:
        # Quick: enough to see that everything runs and to spot a 2x regression.
        return cls(rounds=5, batch_s=0.02) if quick else cls(rounds=21, batch_s=0.1)


@dataclass(frozen=True, slots=True)
class Record:
    """One line of `latest.json`: `value` in `unit` for the subject, and the
    median per-round `ratio` whose meaning `reference` spells out."""

    name: str
    value: float
    unit: str
    reference: str
    ratio: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Medians of one interleaved measurement (seconds per operation)."""

    subject_s: float
    reference_s: float
    ratio: float  # median over rounds of subject / reference
    spread: float  # (max - min) / median of the per-round ratios, a noise gauge
    rounds: int

    def record(self, name: str, reference: str, *, invert: bool = False) -> Record:
        """A record with the subject's µs/op; `invert` reports reference / subject."""
        ratio = 1.0 / self.ratio if invert else self.ratio
        return Record(name, round(self.subject_s * 1e6, 2), "us/op", reference, round(ratio, 3))


def _batch(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - start


def _loops_for(fn: Callable[[], object], batch_s: float) -> int:
    """How many calls of `fn` take about `batch_s` (after a warm-up)."""
    fn()
    n = 1
    while True:
        elapsed = _batch(fn, n)
        if elapsed >= batch_s / 4:
            return max(1, round(n * batch_s / elapsed))
        n *= 4


def compare(
    subject: Callable[[], object], reference: Callable[[], object], settings: Settings
) -> Comparison:
    """Time `subject` against `reference` in interleaved batches; medians of the rounds.

    The garbage collector is paused inside each batch (as `timeit` does) and
    run between batches, so one side does not pay for the other's garbage.
    """
    n_subject = _loops_for(subject, settings.batch_s)
    n_reference = _loops_for(reference, settings.batch_s)
    ratios: list[float] = []
    per_subject: list[float] = []
    per_reference: list[float] = []
    was_enabled = gc.isenabled()
    try:
        for i in range(settings.rounds):
            pair = [(subject, n_subject), (reference, n_reference)]
            if i % 2:
                pair.reverse()
            times: dict[int, float] = {}
            for fn, n in pair:
                gc.collect()
                gc.disable()
                times[id(fn)] = _batch(fn, n) / n
                gc.enable()
            s, r = times[id(subject)], times[id(reference)]
            per_subject.append(s)
            per_reference.append(r)
            ratios.append(s / r)
    finally:
        if was_enabled:
            gc.enable()
    median = statistics.median(ratios)
    return Comparison(
        subject_s=statistics.median(per_subject),
        reference_s=statistics.median(per_reference),
        ratio=median,
        spread=(max(ratios) - min(ratios)) / median,
        rounds=settings.rounds,
    )


def profile(fn: Callable[[], object], *, calls: int = 2000, top: int = 25) -> str:
    """cProfile `calls` calls of `fn`; the `top` functions by own time, as text."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- machine description --------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """CPU, cores, Python and the versions of the libraries that shape the figures."""
    versions: dict[str, str] = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        from cryptography.hazmat.backends.openssl.backend import backend

        versions["openssl"] = backend.openssl_version_text()
    except (ImportError, AttributeError):
        pass
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = cores
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "usable_cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "libraries": versions,
    }


def print_machine(description: dict[str, Any]) -> None:
    libs = ", ".join(f"{k} {v}" for k, v in description["libraries"].items())
    print(
        f"machine: {description['cpu']}, {description['cores']} cores "
        f"({description['usable_cores']} usable), {description['python']}, "
        f"{description['platform']}"
    )
    print(f"libraries: {libs}")


def print_comparison(
    name: str, comparison: Comparison, subject: str, reference: str, ratio_label: str
) -> None:
    """One human line per comparison: both absolute figures and the ratio."""
    s, r = comparison.subject_s, comparison.reference_s
    print(
        f"{name:<34} {subject} {s * 1e6:9.1f} us/op ({1 / s:9.0f} ops/s) | "
        f"{reference} {r * 1e6:9.1f} us/op ({1 / r:9.0f} ops/s) | "
        f"{ratio_label} (spread {comparison.spread:.0%}, {comparison.rounds} rounds)"
    )


# --- results file ---------------------------------------------------------------


def merge_results(
    records: Iterable[Record], path: Path = RESULTS, *, replace_prefixes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Write `records` into `path`, replacing same-named records and keeping the rest.

    Earlier records whose names start with one of `replace_prefixes` are
    dropped too (the suites that ran own those names: a quick run's sizes or
    concurrencies must not linger beside a full run's).
    """
    new = [asdict(r) for r in records]
    names = {r["name"] for r in new}
    prefixes = tuple(replace_prefixes)
    existing: list[dict[str, Any]] = []
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            print(f"warning: {path} is not JSON; starting it afresh", file=sys.stderr)
            loaded = []
        if isinstance(loaded, list):
            existing = [r for r in loaded if isinstance(r, dict)]
    merged = [
        r
        for r in existing
        if r.get("name") not in names and not str(r.get("name", "")).startswith(prefixes)
    ] + new
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return merged


def worst(records: Sequence[Record], name: str, reference: str, *, higher_is_worse: bool) -> Record:
    """A headline record: the worst of `records` (e.g. over issuer algorithms)."""
    pick = max if higher_is_worse else min
    chosen = pick(records, key=lambda r: r.ratio)
    return Record(name, chosen.value, chosen.unit, reference, chosen.ratio)
