"""Interleaved HTTP rounds against a reference server, driven by `bench._loadgen`.

A round loads the subject server, then the reference server (B A in odd
rounds), each for the same time and concurrency from the same second
process; each round gives one ratio per figure (rate, p50, p99), and the
figure is the median over rounds, as in `bench._harness.compare`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._harness import Record

__all__ = ["HttpRounds", "LoadGen", "Sample", "interleave", "raw_post"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Sample:
    """One load run: successful operations per second and latency percentiles."""

    rate: float
    p50_ms: float
    p99_ms: float
    ok: int
    requests: int


class LoadGen:
    """The parent's handle on the load client process (`python -m bench._loadgen`)."""

    def __init__(self, spec_file: Path) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench._loadgen", str(spec_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def run(self, **command: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the load client died")
        out: dict[str, Any] = json.loads(line)
        return out

    def raw(self, port: int, file: Path, *, count: int, seconds: float, concurrency: int) -> Sample:
        """Pre-built requests to `port`; every answer must be 200."""
        out = self.run(
            kind="raw",
            port=port,
            file=str(file),
            count=count,
            seconds=seconds,
            concurrency=concurrency,
        )
        statuses: dict[str, int] = out["statuses"]
        bad = {k: v for k, v in statuses.items() if k != "200"}
        if bad:
            raise RuntimeError(f"unexpected answers from port {port}: {bad}")
        ok = statuses.get("200", 0)
        rate = ok / out["elapsed"] if out["elapsed"] > 0 else 0.0
        return Sample(rate, out["p50_ms"], out["p99_ms"], ok, ok)

    def exchanges(self, kind: str, *, count: int, seconds: float, concurrency: int) -> Sample:
        """Whole exchanges (`vci` or `vp`); every exchange must succeed."""
        out = self.run(kind=kind, count=count, seconds=seconds, concurrency=concurrency)
        if out["errors"]:
            raise RuntimeError(f"{kind} exchanges failed: {out['errors']}")
        rate = out["ok"] / out["elapsed"] if out["elapsed"] > 0 else 0.0
        return Sample(rate, out["p50_ms"], out["p99_ms"], out["ok"], out["requests"])

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def raw_post(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    """One HTTP/1.1 POST with a JSON body, as text (latin-1) for the raw load client."""
    data = json.dumps(body)
    head = f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    return f"{head}content-length: {len(data.encode())}\r\n\r\n{data}"


@dataclass
class HttpRounds:
    """Per-round samples of a subject and its reference."""

    subject: list[Sample] = field(default_factory=list)
    reference: list[Sample] = field(default_factory=list)

    def _median(self, side: Sequence[Sample], attr: str) -> float:
        return float(statistics.median(getattr(s, attr) for s in side))

    def ratio(self, attr: str = "rate", *, scale: float = 1.0) -> float:
        """Median over rounds of subject / reference (`scale` multiplies the subject)."""
        ratios = [
            scale * getattr(s, attr) / getattr(r, attr)
            for s, r in zip(self.subject, self.reference, strict=True)
            if getattr(r, attr) > 0
        ]
        return float(statistics.median(ratios)) if ratios else 0.0

    def spread(self, scale: float = 1.0) -> float:
        ratios = [
            scale * s.rate / r.rate for s, r in zip(self.subject, self.reference, strict=True)
        ]
        mid = statistics.median(ratios)
        return (max(ratios) - min(ratios)) / mid if mid else 0.0

    def subject_median(self, attr: str) -> float:
        return self._median(self.subject, attr)

    def reference_median(self, attr: str) -> float:
        return self._median(self.reference, attr)

    def records(
        self, name: str, *, unit: str, what: str, reference: str, scale: float = 1.0
    ) -> list[Record]:
        """`name` (rate, ratio to the reference's rate), `name.p50`, `name.p99` (ms)."""
        out = [
            Record(
                name,
                round(self.subject_median("rate"), 1),
                unit,
                f"{what}; ratio = {reference} (median of {len(self.subject)} interleaved "
                f"rounds; reference {self.reference_median('rate'):.0f}/s); higher is better",
                round(self.ratio("rate", scale=scale), 3),
            )
        ]
        for pct in ("p50", "p99"):
            out.append(
                Record(
                    f"{name}.{pct}",
                    round(self.subject_median(f"{pct}_ms"), 2),
                    "ms",
                    f"{pct} latency of: {what}; ratio = this / the reference's {pct} "
                    f"({self.reference_median(f'{pct}_ms'):.2f} ms) in the same rounds; "
                    "lower is better",
                    round(self.ratio(f"{pct}_ms"), 3),
                )
            )
        return out


def interleave(
    rounds: int, subject: Callable[[int], Sample], reference: Callable[[int], Sample]
) -> HttpRounds:
    """A B, B A, ...: each callable runs one load of a round."""
    out = HttpRounds()
    for i in range(rounds):
        if i % 2:
            out.reference.append(reference(i))
            out.subject.append(subject(i))
        else:
            out.subject.append(subject(i))
            out.reference.append(reference(i))
    return out
