"""The registry suite's load client: pre-signed operations sent from a second process.

`python -m bench._registry_load --client OPS_FILE` reads one JSON command per
stdin line and answers with the figures of each bounded round (see
`bench.registry`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
CONCURRENCY = 64  # requests in flight from the load client


# --- the pre-signed operations -----------------------------------------------------------


def _sign_some(n: int) -> list[tuple[str, str]]:
    from registry.authoring import create_did
    from registry.bootstrap import DEFAULT_ORIGIN

    out = []
    for _ in range(n):
        keyring, compact = create_did(ledger=DEFAULT_ORIGIN)
        out.append((compact, keyring.did))
    return out


def _sign_pool(n: int) -> list[tuple[str, str]]:
    """`n` signed `did.create` operations and their DIDs, on every usable core."""
    workers = max(1, min(4, len(os.sched_getaffinity(0))))
    if workers == 1 or n < 1000:
        return _sign_some(n)
    parts = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        return [item for part in pool.map(_sign_some, parts) for item in part]


# --- the load client (a second process) ---------------------------------------------------


async def _load(
    port: int, requests: Sequence[bytes], *, seconds: float, concurrency: int
) -> dict[str, Any]:
    """Send `requests` over `concurrency` keep-alive connections until done or `seconds`."""
    conns = [
        await asyncio.open_connection(HOST, port) for _ in range(min(concurrency, len(requests)))
    ]
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    cursor = 0
    start = time.perf_counter()
    deadline = start + seconds
    last = start

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal cursor, last
        while cursor < len(requests) and time.perf_counter() < deadline:
            request = requests[cursor]
            cursor += 1
            sent = time.perf_counter()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                statuses["connection"] += 1
                return
            done = time.perf_counter()
            statuses[head[9:12].decode("ascii")] += 1
            latencies.append(done - sent)
            last = max(last, done)

    try:
        await asyncio.wait_for(
            asyncio.gather(*(worker(r, w) for r, w in conns)), timeout=seconds + 120
        )
    finally:
        for _, writer in conns:
            writer.close()
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    return {
        "sent": cursor,
        "statuses": dict(statuses),
        "elapsed": last - start,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
    }


def _client_main() -> None:
    """`python -m bench._registry_load --client OPS_FILE`: one JSON command per stdin line."""
    ops: list[str] = json.loads(Path(sys.argv[2]).read_text(encoding="ascii"))
    for line in sys.stdin:
        cmd = json.loads(line)
        port = int(cmd["port"])
        requests: list[bytes] = []
        if cmd["kind"] == "post":
            head = f"POST /operations HTTP/1.1\r\nhost: {HOST}:{port}\r\n"
            head += "content-type: application/json\r\n"
            for i in range(cmd["start"], cmd["start"] + cmd["count"]):
                body = json.dumps({"operation": ops[i % len(ops)]}).encode("ascii")
                requests.append(f"{head}content-length: {len(body)}\r\n\r\n".encode("ascii") + body)
        else:
            paths = cmd["paths"]
            for i in range(cmd["count"]):
                path = paths[i % len(paths)]
                requests.append(f"GET {path} HTTP/1.1\r\nhost: {HOST}:{port}\r\n\r\n".encode())
        result = asyncio.run(
            _load(port, requests, seconds=cmd["seconds"], concurrency=cmd["concurrency"])
        )
        print(json.dumps(result), flush=True)


@dataclass(frozen=True, slots=True)
class _Load:
    ok: int
    sent: int
    elapsed: float
    statuses: dict[str, int]
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0


class _LoadClient:
    """The parent's handle on the load client process."""

    def __init__(self, ops_file: Path) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench._registry_load", "--client", str(ops_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )

    def run(
        self,
        port: int,
        *,
        kind: str = "post",
        start: int = 0,
        count: int,
        seconds: float,
        paths: Sequence[str] = (),
        expect: str,
        concurrency: int = CONCURRENCY,
    ) -> _Load:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        cmd = {
            "port": port,
            "kind": kind,
            "start": start,
            "count": count,
            "seconds": seconds,
            "paths": list(paths),
            "concurrency": concurrency,
        }
        self._proc.stdin.write(json.dumps(cmd) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the load client died")
        out = json.loads(line)
        statuses: dict[str, int] = out["statuses"]
        bad = {k: v for k, v in statuses.items() if k != expect}
        if bad:
            raise RuntimeError(f"unexpected answers from port {port}: {bad}")
        return _Load(
            statuses.get(expect, 0),
            out["sent"],
            out["elapsed"],
            statuses,
            out["p50_ms"],
            out["p99_ms"],
        )

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# --- servers --------------------------------------------------------------------------------


if __name__ == "__main__" and sys.argv[1:2] == ["--client"]:
    _client_main()
