"""Registry benchmarks: durable appends, resolutions with proof, proof growth.

Appends over HTTP. A real `govid registry serve` process (uvicorn, one worker)
on SQLite in a temporary directory, then on PostgreSQL in a schema of its own,
takes pre-signed `did.create` operations from a *second process* on loopback:
a small asyncio HTTP/1.1 load client with keep-alive connections and 64
requests in flight (so that group commit can batch), bounded in count and in
time. Signing is the client's cost and happens before any timing. The
reference is `bench._bare_app`: FastAPI on uvicorn with the same settings and
one POST route that parses the same body and verifies one Ed25519 JWS
(`did.jose.verify_jws`). The two servers are loaded in interleaved rounds
(A B, B A, ...); each round gives one ratio, appends/s over bare requests/s,
and the figure is the median. An append is answered only once its batch has
committed (SQLite WAL with synchronous=FULL; PostgreSQL synchronous commit).

Appends in process: parse + `Ledger.append_batch` in chunks of 64 on a fresh
ledger, timed against the bare endpoint's requests/s of the same run (the
issue's reference) and, interleaved, against the same signature check done in
this process (`.vs_verify`).

Resolutions over HTTP: `GET /1.0/identifiers/{did}` of random DIDs of the
SQLite run (document + inclusion proof + checkpoint), against the bare
endpoint in interleaved rounds. One answer is first checked end to end with
`RegistryClient.resolve` (proof and checkpoint signature verified).

Proof growth: a `registry_node` table filled with synthetic hashes for every
perfect subtree of logs of 10^3 ... 10^7 leaves (`--quick`: up to 10^5), in a
temporary SQLite file; `Ledger.inclusion_proof` (plan, one batched node
fetch, rehash) of random leaves at each size is timed against the same call
on a separate 10^3-leaf table, interleaved. Time and size must grow as log n.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench._harness import Record, Settings, compare

__all__ = ["AIMS", "run"]

POSTGRES_URL = os.environ.get("GOVID_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"
CONCURRENCY = 64  # requests in flight from the load client
CHUNK = 64  # operations per append_batch in process (the same 64 in flight)
WARMUP = 300  # requests per server before the timed rounds
APPENDS_PER_S_AIM = 1500.0
HTTP_RATIO_AIM = 0.8

_APPEND_NOTE = (
    "ratio = registry appends/s / bare endpoint req/s (FastAPI+uvicorn, parse body + "
    "verify one Ed25519 JWS), interleaved rounds in this run; higher is better, aim >= 0.8"
)


# --- settings -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    rounds: int
    seconds: float  # per side per round
    pool: int  # pre-signed operations (each registry is fresh, so one pool serves all)
    max_log10: int  # proof growth up to 10^max_log10 leaves
    quick: bool

    @classmethod
    def of(cls, settings: Settings) -> _Plan:
        quick = settings.batch_s < 0.05
        rounds = max(3, settings.rounds // 3)
        if quick:
            return cls(rounds, 0.5, 3000, 5, True)
        return cls(rounds, 1.5, 20000, 7, False)

    def share(self) -> int:
        """Operations per round for one registry (bounds a round by count)."""
        return (self.pool - WARMUP) // self.rounds


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
    """`python -m bench.registry --client OPS_FILE`: one JSON command per stdin line."""
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
            [sys.executable, "-m", "bench.registry", "--client", str(ops_file)],
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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class _Server:
    """A server process (its own session, so it and its children stop together)."""

    def __init__(self, args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://{HOST}:{self.port}"
        with log.open("ab") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", *args, "--host", HOST, "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
                cwd=Path(__file__).resolve().parent.parent,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{args[0]} did not start:\n{log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=20)


@contextmanager
def _server(args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Iterator[_Server]:
    server = _Server(args, log, env)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def _database(kind: str, tmp: Path, label: str) -> Iterator[tuple[str | None, Path]]:
    """A fresh registry directory and, for PostgreSQL, a fresh schema (dropped after)."""
    from registry.bootstrap import init_registry

    data = tmp / f"{kind}-{label}"
    init_registry(data)
    if kind == "sqlite":
        yield None, data
        return
    import psycopg

    schema = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", data
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception as exc:  # any failure means: skip PostgreSQL, say so
        print(f"PostgreSQL at {POSTGRES_URL} unavailable ({type(exc).__name__}); skipped")
        return False


# --- rounds -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rounds:
    subject: list[float]  # rates per round
    reference: list[float]

    @property
    def ratios(self) -> list[float]:
        return [s / r for s, r in zip(self.subject, self.reference, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def spread(self) -> float:
        return (max(self.ratios) - min(self.ratios)) / self.ratio

    def line(self, name: str, subject: str, unit: str) -> str:
        s, r = statistics.median(self.subject), statistics.median(self.reference)
        return (
            f"{name:<34} {subject} {s:8.0f} {unit} | bare {r:8.0f} req/s | "
            f"ratio {self.ratio:.2f} (spread {self.spread:.0%}, {len(self.ratios)} rounds)"
        )


def _interleave(
    rounds: int, subject: Callable[[int], float], reference: Callable[[int], float]
) -> _Rounds:
    """A B, B A, ...: `subject(round)` and `reference(round)` return rates."""
    subj: list[float] = []
    ref: list[float] = []
    for i in range(rounds):
        if i % 2:
            ref.append(reference(i))
            subj.append(subject(i))
        else:
            subj.append(subject(i))
            ref.append(reference(i))
    return _Rounds(subj, ref)


def _bare_round(client: _LoadClient, bare: _Server, plan: _Plan) -> Callable[[int], float]:
    def reference(i: int) -> float:
        load = client.run(
            bare.port, start=i * 997, count=plan.share(), seconds=plan.seconds, expect="201"
        )
        return load.rate

    return reference


# --- appends and resolutions over HTTP ---------------------------------------------------------


def _tree_size(url: str) -> int:
    size: int = httpx.get(url + "/readyz", timeout=10).json()["treeSize"]
    return size


def _wait_for_checkpoint(url: str, size: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(url + "/checkpoint", timeout=5.0)
        if response.status_code == 200 and int(response.text.split("\n")[1]) >= size:
            return
        time.sleep(0.05)
    raise RuntimeError(f"no checkpoint of size {size} in time")


def _http_suite(
    kind: str,
    database_url: str | None,
    data: Path,
    client: _LoadClient,
    bare: _Server,
    pool: list[tuple[str, str]],
    plan: _Plan,
    tmp: Path,
) -> tuple[_Rounds, _Rounds | None]:
    env = {"GOVID_REGISTRY_DATABASE_URL": database_url} if database_url else {}
    args = ["govid.cli", "registry", "serve", "--data", str(data)]
    with _server(args, tmp / f"registry-{kind}.log", env) as registry:
        client.run(registry.port, start=0, count=WARMUP, seconds=60, expect="201")
        client.run(bare.port, start=0, count=WARMUP, seconds=60, expect="201")
        cursor = WARMUP
        appended = list(range(WARMUP))

        def subject(_: int) -> float:
            nonlocal cursor
            load = client.run(
                registry.port, start=cursor, count=plan.share(), seconds=plan.seconds, expect="201"
            )
            appended.extend(range(cursor, cursor + load.sent))
            cursor += plan.share()  # skip the unsent rest: every op is sent at most once
            return load.rate

        appends = _interleave(plan.rounds, subject, _bare_round(client, bare, plan))
        size = _tree_size(registry.url)
        if size != len(appended) + 1:  # + the genesis entry
            raise RuntimeError(f"{kind}: {len(appended)} appends acknowledged, the log has {size}")
        if kind != "sqlite":
            return appends, None
        _wait_for_checkpoint(registry.url, size)
        dids = [pool[i][1] for i in appended]
        _check_resolution(registry.url, data, random.choice(dids))
        rng = random.Random(7)
        paths = [f"/1.0/identifiers/{rng.choice(dids)}" for _ in range(4000)]

        def resolve(i: int) -> float:
            load = client.run(
                registry.port,
                kind="get",
                count=plan.share(),
                seconds=plan.seconds,
                paths=paths[i * 331 % len(paths) :] + paths,
                expect="200",
            )
            return load.rate

        client.run(registry.port, kind="get", count=WARMUP, seconds=60, paths=paths, expect="200")
        resolutions = _interleave(plan.rounds, resolve, _bare_round(client, bare, plan))
        return appends, resolutions


def _check_resolution(url: str, data: Path, did: str) -> None:
    """One resolution verified as a counter would: proof, checkpoint signature, replay."""
    from registry.client import RegistryClient
    from registry.trust import trust_from_options

    vkey = (data / "log.vkey").read_text(encoding="ascii").strip()
    with RegistryClient(url, trust=trust_from_options(url, log_vkey=vkey)) as reg:
        result = reg.resolve(did)
    if result.document_metadata.get("ledgerProof") is None:
        raise RuntimeError("the resolution came without a ledger proof")


# --- appends in process ---------------------------------------------------------------------------


def _inprocess_suite(
    database_url: str | None, data: Path, pool: list[tuple[str, str]], plan: _Plan
) -> _Rounds:
    from did.jose import parse_unverified_jws, verify_jws
    from did.keys import from_multikey
    from registry.bootstrap import append_genesis
    from registry.config import RegistryConfig
    from registry.ledger import Appended, Ledger
    from registry.operations import Operation

    config = RegistryConfig(data_dir=data, database_url=database_url)
    engine = config.engine()
    try:
        config.ensure_schema()
        ledger = Ledger(engine, origin=config.origin, signer=config.log_signer())
        append_genesis(ledger, config.genesis())
        bodies = [json.dumps({"operation": op}) for op, _ in pool]
        cursor = 0

        def append_for(seconds: float, count: int) -> float:
            nonlocal cursor
            stop = min(cursor + count, len(bodies))
            start = time.perf_counter()
            done = 0
            while cursor < stop and time.perf_counter() - start < seconds:
                chunk = bodies[cursor : min(cursor + CHUNK, stop)]
                cursor += len(chunk)
                ops = [
                    Operation.parse(json.loads(b)["operation"], ledger=ledger.origin) for b in chunk
                ]
                outcomes = ledger.append_batch(ops)
                if not all(isinstance(o, Appended) for o in outcomes):
                    raise RuntimeError(f"an in-process append was refused: {outcomes}")
                done += len(chunk)
            return done / (time.perf_counter() - start)

        def verify_for(seconds: float) -> float:
            start = time.perf_counter()
            done = 0
            while time.perf_counter() - start < seconds:
                body = bodies[done % len(bodies)]
                jws = parse_unverified_jws(json.loads(body)["operation"])
                verify_jws(
                    jws, from_multikey(jws.header["kid"]), typ="govid-op+jws", algs=("EdDSA",)
                )
                done += 1
            return done / (time.perf_counter() - start)

        append_for(60, WARMUP)
        share = plan.share()
        rounds = _interleave(
            plan.rounds, lambda _: append_for(plan.seconds, share), lambda _: verify_for(0.3)
        )
        if ledger.size() != cursor + 1:
            raise RuntimeError("the in-process ledger lost an append")
        return rounds
    finally:
        engine.dispose()


# --- proof growth ---------------------------------------------------------------------------------


def _fill_nodes(path: Path, old: int, new: int) -> None:
    """Insert the synthetic nodes of every perfect subtree completed between sizes old and new.

    Node (l, i) covers leaves [i*2^l, (i+1)*2^l): it exists in a log of n
    leaves iff i < n >> l. Hashes are random: proof generation never checks them.
    """
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB while filling
        level = 0
        while new >> level:
            lo, hi = old >> level, new >> level
            for begin in range(lo, hi, 500_000):
                end = min(begin + 500_000, hi)
                blob = os.urandom(32 * (end - begin))
                rows = (
                    (level, i, blob[(i - begin) * 32 : (i - begin + 1) * 32])
                    for i in range(begin, end)
                )
                conn.executemany(
                    "INSERT INTO registry_node (level, idx, hash) VALUES (?, ?, ?)", rows
                )
            level += 1
        conn.commit()
    finally:
        conn.close()


def _node_ledger(path: Path) -> Any:
    from sqlmodel import SQLModel, create_engine

    from registry.bootstrap import DEFAULT_ORIGIN
    from registry.ledger import Ledger
    from registry.note import NoteSigner
    from registry.store import REGISTRY_TABLES, make_engine

    plain = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(plain, tables=REGISTRY_TABLES)
    plain.dispose()
    return Ledger(
        make_engine(f"sqlite:///{path}"),
        origin=DEFAULT_ORIGIN,
        signer=NoteSigner.generate(DEFAULT_ORIGIN),
    )


def _prover(ledger: Any, size: int) -> tuple[Callable[[], list[bytes]], int]:
    """A call proving a random leaf into the tree of `size`, and the proof's byte size."""
    rng = random.Random(size)
    indices = [rng.randrange(size) for _ in range(4096)]
    position = 0

    def prove() -> list[bytes]:
        nonlocal position
        position = (position + 1) % len(indices)
        proof: list[bytes] = ledger.inclusion_proof(indices[position], size)
        return proof

    sizes = [32 * len(ledger.inclusion_proof(i, size)) for i in indices[:256]]
    return prove, round(statistics.mean(sizes))


def _proof_growth(plan: _Plan, settings: Settings, tmp: Path) -> list[Record]:
    sizes = [10**k for k in range(3, plan.max_log10 + 1)]
    ref_ledger = _node_ledger(tmp / "nodes-ref.db")
    ref_ledger.engine.dispose()
    _fill_nodes(tmp / "nodes-ref.db", 0, sizes[0])
    ref_prove, ref_bytes = _prover(ref_ledger, sizes[0])
    ledger = _node_ledger(tmp / "nodes.db")
    records: list[Record] = []
    old = 0
    print(
        f"{'leaves':>10} {'log2 n':>7} {'fill s':>7} {'proof us':>9} {'x 1e3':>6} "
        f"{'log ratio':>9} {'bytes':>6} {'x 1e3':>6}"
    )
    times: dict[int, float] = {}
    for n in sizes:
        ledger.engine.dispose()  # the fill switches journalling off: no other connection
        start = time.perf_counter()
        _fill_nodes(tmp / "nodes.db", old, n)
        fill_s = time.perf_counter() - start
        old = n
        prove, proof_bytes = _prover(ledger, n)
        comparison = compare(prove, ref_prove, settings)
        times[n] = comparison.subject_s
        log_ratio = math.log2(n) / math.log2(sizes[0])
        tag = f"1e{round(math.log10(n))}"
        print(
            f"{n:>10} {math.log2(n):7.1f} {fill_s:7.1f} {comparison.subject_s * 1e6:9.1f} "
            f"{comparison.ratio:6.2f} {log_ratio:9.2f} {proof_bytes:6d} "
            f"{proof_bytes / ref_bytes:6.2f}"
        )
        records.append(
            Record(
                f"registry.proof_time.{tag}",
                round(comparison.subject_s * 1e6, 1),
                "us/op",
                f"Ledger.inclusion_proof of a random leaf in a {n}-leaf log (SQLite, synthetic "
                "nodes); ratio = time / the same at 1e3 leaves (interleaved); log growth "
                f"predicts {log_ratio:.2f}",
                round(comparison.ratio, 3),
            )
        )
        records.append(
            Record(
                f"registry.proof_size.{tag}",
                proof_bytes,
                "bytes",
                f"mean inclusion proof size (32-byte hashes) at {n} leaves; ratio = size / size "
                f"at 1e3 leaves; log growth predicts {log_ratio:.2f}",
                round(proof_bytes / ref_bytes, 3),
            )
        )
        if n == sizes[-1]:
            records.append(
                Record(
                    "registry.proof_growth",
                    round(comparison.subject_s * 1e6, 1),
                    "us/op",
                    f"proof time at {n} leaves ({proof_bytes} bytes) over proof time at 1000 "
                    f"leaves ({ref_bytes} bytes); log growth predicts {log_ratio:.2f}, linear "
                    f"{n // sizes[0]}",
                    round(comparison.ratio, 3),
                )
            )
    for engine_owner in (ledger, ref_ledger):
        engine_owner.engine.dispose()
    last = sizes[-1]
    growth = times[last] / times[sizes[0]]
    bound = 2 * math.log2(last) / math.log2(sizes[0])
    verdict = "logarithmic" if growth <= bound else "NOT logarithmic"
    print(
        f"proof time 1e3 -> {last:.0e}: x{growth:.2f} (log bound x{bound:.1f}, "
        f"linear x{last // sizes[0]}): {verdict}"
    )
    return records


# --- the suite ------------------------------------------------------------------------

# (record, test on the record, wording)
AIMS: tuple[tuple[str, Callable[[Record], bool], str], ...] = (
    ("registry.append_http_sqlite", lambda r: r.ratio >= HTTP_RATIO_AIM, "ratio >= 0.8"),
    ("registry.append_http_postgres", lambda r: r.ratio >= HTTP_RATIO_AIM, "ratio >= 0.8"),
    ("registry.append_http_sqlite", lambda r: r.value >= APPENDS_PER_S_AIM, ">= 1500 appends/s"),
)


def _append_record(name: str, rounds: _Rounds, what: str) -> Record:
    return Record(
        name,
        round(statistics.median(rounds.subject), 1),
        "appends/s",
        f"{what}; bare endpoint {statistics.median(rounds.reference):.0f} req/s; " + _APPEND_NOTE,
        round(rounds.ratio, 3),
    )


def run(settings: Settings) -> list[Record]:
    plan = _Plan.of(settings)
    records: list[Record] = []
    tmp = Path(tempfile.mkdtemp(prefix="govid-bench-registry-"))
    try:
        start = time.perf_counter()
        pool = _sign_pool(plan.pool)
        print(
            f"signed {len(pool)} did.create operations in {time.perf_counter() - start:.1f} s; "
            f"{plan.rounds} rounds of {plan.seconds:.1f} s per side, {CONCURRENCY} in flight"
        )
        ops_file = tmp / "ops.json"
        ops_file.write_text(json.dumps([op for op, _ in pool]), encoding="ascii")
        kinds = ["sqlite"] + (["postgres"] if _postgres_available() else [])
        client = _LoadClient(ops_file)
        bare_rates: dict[str, float] = {}
        try:
            with _server(["bench._bare_app"], tmp / "bare.log") as bare:
                for kind in kinds:
                    with _database(kind, tmp, "http") as (url, data):
                        appends, resolutions = _http_suite(
                            kind, url, data, client, bare, pool, plan, tmp
                        )
                    print(appends.line(f"registry.append_http_{kind}", "govid", "appends/s"))
                    records.append(
                        _append_record(
                            f"registry.append_http_{kind}",
                            appends,
                            f"durable appends over HTTP, `govid registry serve` on {kind}",
                        )
                    )
                    bare_rates[kind] = statistics.median(appends.reference)
                    if resolutions is not None:
                        name = f"registry.resolve_http_{kind}"
                        print(resolutions.line(name, "govid", "resolv/s"))
                        records.append(
                            Record(
                                name,
                                round(statistics.median(resolutions.subject), 1),
                                "resolutions/s",
                                "GET /1.0/identifiers/{did} (document + inclusion proof + "
                                "checkpoint) of random DIDs; ratio = resolutions/s / bare "
                                "endpoint req/s, interleaved rounds; higher is better",
                                round(resolutions.ratio, 3),
                            )
                        )
        finally:
            client.close()
        for kind in kinds:
            with _database(kind, tmp, "inprocess") as (url, data):
                inproc = _inprocess_suite(url, data, pool, plan)
            rate = statistics.median(inproc.subject)
            name = f"registry.append_inprocess_{kind}"
            ratio = rate / bare_rates[kind]
            floor = statistics.median(inproc.reference)
            print(
                f"{name:<34} govid {rate:8.0f} appends/s | bare HTTP {bare_rates[kind]:8.0f} "
                f"req/s | ratio {ratio:.2f}; vs in-process verify {floor:.0f}/s: "
                f"{inproc.ratio:.2f} (spread {inproc.spread:.0%})"
            )
            records.append(
                Record(
                    name,
                    round(rate, 1),
                    "appends/s",
                    f"parse + Ledger.append_batch of {CHUNK} in process on {kind}; ratio = "
                    f"appends/s / the bare HTTP endpoint's req/s in this run "
                    f"({bare_rates[kind]:.0f}); see .vs_verify for the in-process floor",
                    round(ratio, 3),
                )
            )
            records.append(
                Record(
                    f"{name}.vs_verify",
                    round(rate, 1),
                    "appends/s",
                    "ratio = appends/s / (json body parse + verify_jws of one Ed25519 operation "
                    "in this process)/s, interleaved rounds; 1.0 would be the signature floor",
                    round(inproc.ratio, 3),
                )
            )
        records.extend(_proof_growth(plan, settings, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    by_name = {r.name: r for r in records}
    for name, ok, wording in AIMS:
        if name in by_name:
            record = by_name[name]
            print(
                f"aim {name} {wording}: {record.value:.0f}/s, ratio {record.ratio:.2f} "
                f"{'met' if ok(record) else 'NOT met'}"
            )
    return records


if __name__ == "__main__" and sys.argv[1:2] == ["--client"]:
    _client_main()
