"""A bounded soak of the composed stack: mixed issuance, presentation and revocation.

    python -m tools.soak --duration 600 [--workers 6] [--json report.json]

Runs the stack of `tests.security.procstack` (real processes; PostgreSQL from
`GOVID_TEST_DATABASE_URL`, a fresh schema, else SQLite) and drives it from
`--workers` threads until `--duration` seconds have passed. Each round of a
worker: an agency creates an offer, a wallet redeems it (token with the
transaction code, nonce, credential), the counter verifies a presentation
of it (`POST /api/verify`, or the OpenID4VP cross-device flow every other
round), and every third credential is revoked. The report gives throughput,
p50/p99 latency per step, errors (must be zero) and the resident memory of
each service after the warm-up and at the end (growth must stay small).

CI runs the short form (`tests/security/test_soak.py`); `make soak` the long one.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx

from tests.security.procstack import (
    Stack,
    answer_request,
    citizen_claims,
    credential_ids,
    make_offer,
    open_request,
    present,
    publish_and_wait_accepted,
    receive,
    revoke,
    running_stack,
    verify,
)

# Growth allowed between the end of the warm-up and the end of the run, per
# service. A leak grows with the number of requests; caches and pools fill
# during the warm-up and then stay put.
MAX_GROWTH_KIB = 48 * 1024


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    rounds: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, step: str, started: float) -> None:
        with self.lock:
            self.latencies[step].append(time.perf_counter() - started)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text[:500])


def _round(stack: Stack, http: httpx.Client, agency: str, counter: str, n: int, t: Tally) -> None:
    started = time.perf_counter()
    offer = make_offer(stack, http, agency, citizen_claims(n))
    if offer.status_code != 201:
        t.error(f"offer: {offer.status_code} {offer.text}")
        return
    t.timed("offer", started)
    started = time.perf_counter()
    received = receive(http, offer.json())
    t.timed("issue", started)

    started = time.perf_counter()
    if n % 2:
        nonce = secrets.token_urlsafe(12)
        answer = verify(stack, http, counter, present(received, nonce), nonce)
        ok = answer.status_code == 200 and answer.json()["accepted"] is True
        t.timed("verify", started)
    else:
        opened = open_request(stack, http, counter)
        ok = opened.status_code == 201
        answer = opened
        if ok:
            answer = answer_request(http, opened.json(), received).response
            ok = answer.status_code == 200 and answer.json() == {"status": "accepted"}
        t.timed("openid4vp", started)
    if not ok:
        t.error(f"presentation: {answer.status_code} {answer.text}")
        return

    if n % 3 == 0:
        started = time.perf_counter()
        (credential_id,) = credential_ids(stack, http, agency, received.offer_id)
        revoked = revoke(stack, http, agency, credential_id)
        if revoked.status_code != 200:
            t.error(f"revoke: {revoked.status_code} {revoked.text}")
            return
        t.timed("revoke", started)
    with t.lock:
        t.rounds += 1


def _worker(stack: Stack, deadline: float, first: int, tally: Tally) -> None:
    n = first  # rounds alternate their presentation flow and revoke every third
    with httpx.Client(timeout=60) as http:
        agency, counter = stack.agency_token(http), stack.counter_token(http)
        while time.monotonic() < deadline:
            try:
                _round(stack, http, agency, counter, n, tally)
            except (httpx.HTTPError, AssertionError, KeyError, ValueError) as exc:
                tally.error(f"{type(exc).__name__}: {exc}")
            n += 1


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def soak(stack: Stack, *, duration: float, workers: int, warmup: float) -> dict[str, Any]:
    """Drive `stack` for `duration` seconds; the report of the run."""
    with httpx.Client(timeout=60) as http:
        agency = stack.agency_token(http)
        first = receive(http, make_offer(stack, http, agency, citizen_claims(0)).json())
        publish_and_wait_accepted(stack, http, first)
    services = {"registry": stack.registry, "issuer": stack.issuer, "verifier": stack.verifier}
    tally = Tally()
    start = time.monotonic()
    deadline = start + duration
    threads = [
        threading.Thread(target=_worker, args=(stack, deadline, 1 + i, tally), daemon=True)
        for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(min(warmup, duration))
    after_warmup = {name: _rss_kib(server) for name, server in services.items()}
    for thread in threads:
        thread.join(timeout=duration + 120)
    elapsed = time.monotonic() - start
    at_end = {name: _rss_kib(server) for name, server in services.items()}
    steps = {
        step: {
            "count": len(values),
            "p50_ms": round(1000 * _percentile(values, 50), 1),
            "p99_ms": round(1000 * _percentile(values, 99), 1),
        }
        for step, values in sorted(tally.latencies.items())
    }
    return {
        "duration_s": round(elapsed, 1),
        "workers": workers,
        "rounds": tally.rounds,
        "rounds_per_s": round(tally.rounds / elapsed, 2),
        "requests_per_s": round(sum(len(v) for v in tally.latencies.values()) / elapsed, 2),
        "steps": steps,
        "errors": len(tally.errors),
        "first_errors": tally.errors[:5],
        "rss_kib_after_warmup": after_warmup,
        "rss_kib_at_end": at_end,
        "rss_growth_kib": {k: at_end[k] - after_warmup[k] for k in at_end},
        "threads_alive": sum(t.is_alive() for t in threads),
    }


def _rss_kib(server: Any) -> int:
    """RSS of the service process and its children (uvicorn runs in the process itself)."""
    total: int = server.rss_kib() if hasattr(server, "rss_kib") else _pid_rss(server.proc.pid)
    return total


def _pid_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def healthy(report: dict[str, Any]) -> list[str]:
    """What is wrong with a soak report (empty when it passed)."""
    problems = []
    if report["errors"]:
        problems.append(f"{report['errors']} errors: {report['first_errors']}")
    if report["rounds"] == 0:
        problems.append("no round completed")
    if report["threads_alive"]:
        problems.append("a worker never finished")
    for name, growth in report["rss_growth_kib"].items():
        if growth > MAX_GROWTH_KIB:
            problems.append(f"{name} grew by {growth} KiB after the warm-up")
    return problems


@contextmanager
def _database() -> Iterator[str | None]:
    from tests.conftest import _fresh_postgres_schema

    url = os.environ.get("GOVID_TEST_DATABASE_URL")
    if not url:
        print("GOVID_TEST_DATABASE_URL is not set: soaking on SQLite", file=sys.stderr)
        yield None
        return
    fresh = cast(Generator[str, None, None], _fresh_postgres_schema(url))
    try:
        yield next(fresh)
    finally:
        fresh.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--warmup", type=float, default=None, help="default: a fifth")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else args.duration / 5
    with tempfile.TemporaryDirectory(prefix="govid-soak-") as tmp, _database() as url:
        with running_stack(Path(tmp), url) as stack:
            report = soak(stack, duration=args.duration, workers=args.workers, warmup=warmup)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    problems = healthy(report)
    for problem in problems:
        print(f"soak failed: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
