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

import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._harness import Record, Settings
from bench._registry_load import CONCURRENCY, HOST, _LoadClient, _sign_pool
from bench._registry_proofs import _proof_growth

__all__ = ["AIMS", "run"]

POSTGRES_URL = os.environ.get("GOVID_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
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


class _Server:
    """A server process (its own session, so it and its children stop together)."""

    def __init__(self, args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        import socket

        # The socket is bound here and handed to the child (`--fd`): no probe
        # for a free port that another process could take before the child binds.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        with log.open("ab") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", *args, "--fd", str(self.sock.fileno())],
                pass_fds=(self.sock.fileno(),),
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
        self.sock.close()


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
    # Thousands of anonymous creates from one address: the write quota
    # (method spec §10.1) is off for the benchmark, which measures appends.
    env = {"GOVID_REGISTRY_WRITE_QUOTA": "0"}
    if database_url:
        env["GOVID_REGISTRY_DATABASE_URL"] = database_url
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
