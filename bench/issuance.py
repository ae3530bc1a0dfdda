"""Issuance in process (credential endpoint path) and the batch import, on SQLite.

A real stack (`bench._stack`: `govid up`, registry with two witnesses, the
civil issuer with its agency created and accredited on the ledger). The civil
issuer's data directory is opened *in this process* as `govid issuer ...`
opens it (`issuer.json` + the development KEK from the stack's
`secrets.json`, `issuer.api.app.build_context`, the same SQLite file in WAL
mode with `synchronous=FULL`), beside the running service.

- `issuer.issue_inprocess.vs_floor`: `issuer.exchange.issue_credentials`, the
  whole credential endpoint path for one key proof: proof JWT check (ES256
  holder key), access token and offer look-up, nonce consumption, agency keys
  unsealed, one SD-JWT VC signed with its disclosures, a random status index
  allocated, the credential row, offer and audit written and committed
  durably. The protocol makes the offer, its access token and the `c_nonce`
  single use, so each request needs its own: they are made before the timed
  region (`create_offer`, `token_request` with the pre-authorized code and
  transaction code, `new_nonce`, the wallet's proof JWT), a pool sized from a
  first measurement. Reference, interleaved: one raw issuer signature over the
  same signing input with the fastest binding (libsodium for Ed25519,
  `cryptography` for ECDSA).
- `issuer.issue_inprocess.batch10.vs_floor`: the same with 10 proofs (10
  holder keys) per request, one transaction; per credential, against 10 raw
  signatures.
- `issuer.import_<rows>`: `issuer.importer.import_csv` of one CSV of 100,000
  civil identity rows (`--quick`: 2,000): per row a validated, sealed offer
  committed and a result line written, flushed and fsynced. The `progress`
  hook of `import_csv` interleaves, every segment of rows, a batch of the
  *durability floor*: one raw `sqlite3` insert-and-commit of a 400-byte row
  (WAL, `synchronous=FULL`) plus one CSV line written and fsynced, i.e. the
  two durable writes per row the design asks for and nothing else. Ratio =
  median over segments of import time per row / floor time per row (the mean
  of the floor batches on both sides of the segment). The import's wall time
  excludes the floor batches.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._harness import Record, Settings, compare, print_comparison
from bench._stack import (
    CIVIL_CLAIMS,
    CONFIGURATION,
    PRE_AUTH,
    Stack,
    issue_credentials,
    proof_jwt,
    running_stack,
)
from bench.sdjwt import _signer
from did.keys import generate_private_key, private_key_from_jwk
from did.sd_jwt import parse_sd_jwt
from issuer.agencies import open_agency
from issuer.api.app import build_context
from issuer.context import IssuerContext, RegistryLedger
from issuer.exchange import issue_credentials as issue_inprocess
from issuer.exchange import new_nonce, token_request
from issuer.importer import import_csv
from issuer.offers import AgencyPrincipal, create_offer, offer_document
from issuer.settings import load_settings
from issuer.store import IssuerStore

__all__ = ["run"]

AGENCY = "civil"
BATCH = 10
TICKET_LIMIT_S = 200.0  # tokens, nonces and proofs live 300 s: the pool must be used before


@dataclass(frozen=True, slots=True)
class Ticket:
    """One credential request ready to send: its bearer token and body (proofs signed)."""

    authorization: str
    body: dict[str, Any]


def open_civil(stack: Stack) -> IssuerContext:
    """The civil issuer of the stack, in this process, as `govid issuer` opens it."""
    data = stack.data / f"issuer-{AGENCY}"
    secrets = json.loads((stack.data / "secrets.json").read_text(encoding="utf-8"))
    return build_context(load_settings(data, kek=secrets["issuer_kek"]))


class Pool:
    """Offers, wallet tokens, nonces and proofs made before timing, one ticket per request."""

    def __init__(self, ctx: IssuerContext, proofs: int) -> None:
        self.ctx = ctx
        self.proofs = proofs
        self.audience = ctx.issuer_id(AGENCY)
        self.principal = AgencyPrincipal(AGENCY, "bench", frozenset({CONFIGURATION}))
        self.tickets: list[Ticket] = []
        self.inline = 0  # tickets made inside a timed batch (pool ran dry)

    def make(self) -> Ticket:
        ctx = self.ctx
        offer = create_offer(
            ctx, self.principal, configuration_id=CONFIGURATION, claims=CIVIL_CLAIMS
        )
        code = offer_document(ctx, offer["id"])["grants"][PRE_AUTH]["pre-authorized_code"]
        form = {"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": offer["tx_code"]}
        token = token_request(ctx, form, authorization=None)["access_token"]
        jwts = [
            proof_jwt(
                generate_private_key("ES256"), aud=self.audience, nonce=new_nonce(ctx)["c_nonce"]
            )
            for _ in range(self.proofs)
        ]
        body = {"credential_configuration_id": CONFIGURATION, "proofs": {"jwt": jwts}}
        return Ticket(f"Bearer {token}", body)

    def fill(self, count: int) -> float:
        start = time.perf_counter()
        self.tickets = [self.make() for _ in range(count)]
        self.tickets.reverse()  # pop() takes the oldest first
        return time.perf_counter() - start

    def take(self) -> Ticket:
        if self.tickets:
            return self.tickets.pop()
        self.inline += 1
        return self.make()

    def issue(self) -> list[str]:
        ticket = self.take()
        answer = issue_inprocess(self.ctx, AGENCY, ticket.body, authorization=ticket.authorization)
        return [c["credential"] for c in answer["credentials"]]


def _floor(ctx: IssuerContext, credential: str, signatures: int) -> tuple[Callable[[], None], str]:
    """`signatures` raw issuer signatures over a real credential's signing input."""
    with ctx.session() as session:
        row = IssuerStore(session).agency(AGENCY)
    assert row is not None
    keyring = open_agency(ctx, row).keyring
    key = private_key_from_jwk(keyring.document_keys[keyring.signing_fragment])
    sign = _signer(key)
    signing_input = parse_sd_jwt(credential).jws.signing_input
    alg = parse_sd_jwt(credential).jws.header.get("alg", "?")

    def floor() -> None:
        for _ in range(signatures):
            sign(signing_input)

    return floor, str(alg)


def _issuance(ctx: IssuerContext, settings: Settings, proofs: int) -> Record:
    pool = Pool(ctx, proofs)
    # Warm-up and a first estimate of the time per request, for the pool's size.
    pool.fill(3)
    start = time.perf_counter()
    issued: list[str] = []
    for _ in range(3):
        issued = pool.issue()
    per_call = (time.perf_counter() - start) / 3
    assert len(issued) == proofs, "one credential per proof"
    floor, alg = _floor(ctx, issued[0], proofs)
    per_batch = max(1.0, settings.batch_s / per_call)
    needed = int(2.5 * (settings.rounds + 2) * per_batch) + 10
    made_in = pool.fill(needed)
    if made_in > TICKET_LIMIT_S:
        print(f"warning: the pool took {made_in:.0f} s; its first tokens may have expired")
    comparison = compare(pool.issue, floor, settings)
    name = (
        "issuer.issue_inprocess.vs_floor"
        if proofs == 1
        else f"issuer.issue_inprocess.batch{proofs}.vs_floor"
    )
    print_comparison(name, comparison, "govid", "floor", f"ratio {comparison.ratio:.2f}")
    per_credential = comparison.subject_s / proofs
    print(
        f"{'':<34} {1 / per_credential:,.0f} credentials/s; pool of {needed} requests made in "
        f"{made_in:.1f} s, {len(pool.tickets)} left, {pool.inline} made inside a timed batch"
    )
    inline = (
        f"; {pool.inline} requests' offer/token/nonces were made inside a timed batch (pool "
        "ran dry)"
        if pool.inline
        else ""
    )
    what = "one key proof" if proofs == 1 else f"{proofs} key proofs (10 holder keys)"
    return Record(
        name,
        round(1 / per_credential, 1),
        "credentials/s",
        f"issuer.exchange.issue_credentials in process, {what} per request, SQLite (WAL, "
        "synchronous=FULL) of a govid up civil issuer: proof JWT check (ES256), token, offer "
        "and nonce look-up, agency keys unsealed, SD-JWT VC signed with its disclosures "
        f"({alg}), random status index, rows written and committed; offer, wallet token and "
        "c_nonce (single use by the protocol) made before the timed region" + inline + "; "
        f"ratio = govid time per request / {proofs} raw {alg} issuer signature(s) with the "
        "fastest binding, interleaved (1.0 is the floor; lower is better)",
        round(comparison.ratio, 3),
    )


# --- batch import ----------------------------------------------------------------------


def _write_source(path: Path, rows: int) -> None:
    address = CIVIL_CLAIMS["address"]
    columns = [
        "personal_id",
        "given_name",
        "family_name",
        "birthdate",
        "nationality",
        "address.street_address",
        "address.locality",
        "address.country",
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(rows):
            writer.writerow(
                [
                    f"0791{i:08d}",
                    CIVIL_CLAIMS["given_name"],
                    CIVIL_CLAIMS["family_name"],
                    f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    CIVIL_CLAIMS["nationality"],
                    f"{1 + i % 300} Le Loi",
                    address["locality"],
                    address["country"],
                ]
            )


class DurableFloor:
    """Per row, the two durable writes of the import and nothing else (raw sqlite3 + fsync)."""

    def __init__(self, directory: Path) -> None:
        self.db = sqlite3.connect(directory / "floor.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE row (id TEXT PRIMARY KEY, sealed BLOB)")
        self.out = (directory / "floor.csv").open("a", newline="", encoding="utf-8")
        self.writer = csv.writer(self.out)
        self.count = 0

    def row(self) -> None:
        self.count += 1
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO row VALUES (?, ?)", (f"r{self.count}", os.urandom(400)))
        self.db.execute("COMMIT")
        line = [self.count, "created", "x" * 22, "openid-credential-offer://?x=" + "y" * 80, "1"]
        self.writer.writerow(line)
        self.out.flush()
        os.fsync(self.out.fileno())

    def batch(self, rows: int) -> float:
        """Seconds per row over `rows` rows."""
        start = time.perf_counter()
        for _ in range(rows):
            self.row()
        return (time.perf_counter() - start) / rows

    def close(self) -> None:
        self.out.close()
        self.db.close()


def _import(ctx: IssuerContext, tmp: Path, rows: int) -> list[Record]:
    directory = tmp / "import"
    directory.mkdir()
    source, result = directory / "people.csv", directory / "people.result.csv"
    _write_source(source, rows)
    floor = DurableFloor(directory)
    segments = 20 if rows >= 20_000 else 10
    segment = rows // segments
    floor_rows = max(20, segment // 25)
    floor.batch(floor_rows)  # warm-up
    segment_times: list[float] = []  # seconds per imported row, by segment
    floor_times: list[float] = [floor.batch(floor_rows)]
    floor_total = 0.0

    def interleaved(
        numbered: Iterator[tuple[int, dict[str, str | None]]], total: int
    ) -> Iterable[tuple[int, dict[str, str | None]]]:
        nonlocal floor_total
        done = last = 0
        mark = time.perf_counter()
        for item in numbered:
            yield item
            done += 1
            if done % segment == 0 or done == total:
                now = time.perf_counter()
                segment_times.append((now - mark) / (done - last))
                last = done
                floor_times.append(floor.batch(floor_rows))
                mark = time.perf_counter()
                floor_total += mark - now

    gc.collect()
    start = time.perf_counter()
    counts = import_csv(
        ctx,
        agency=AGENCY,
        configuration_id=None,
        source=source,
        result=result,
        progress=interleaved,
    )
    wall = time.perf_counter() - start - floor_total
    floor.close()
    if counts["created"] != rows or counts["error"]:
        raise RuntimeError(f"import of {rows} rows gave {counts}")
    with result.open(newline="", encoding="utf-8") as handle:
        lines = sum(1 for r in csv.DictReader(handle) if r["status"] == "created" and r["tx_code"])
    if lines != rows:
        raise RuntimeError(f"the result file has {lines} created rows, not {rows}")
    ratios = [s / ((floor_times[i] + floor_times[i + 1]) / 2) for i, s in enumerate(segment_times)]
    ratio = statistics.median(ratios)
    spread = (max(ratios) - min(ratios)) / ratio
    rate = rows / wall
    floor_rate = 1 / statistics.median(floor_times)
    label = f"{rows // 1000}k" if rows % 1000 == 0 else str(rows)
    name = f"issuer.import_{label}"
    print(
        f"{name:<34} {rows:,} rows in {wall:7.1f} s ({rate:7.1f} rows/s) | durability floor "
        f"{floor_rate:7.1f} rows/s | ratio {ratio:.2f} (spread {spread:.0%}, "
        f"{len(ratios)} segments)"
    )
    reference = (
        f"issuer.importer.import_csv of one CSV of {rows} civil identity rows into a govid up "
        "civil issuer (SQLite, WAL, synchronous=FULL): per row claims converted and validated, "
        "accreditation (cached 60 s), offer sealed and committed, result line written and "
        "fsynced; ratio = import time per row / durability floor per row (one raw sqlite3 "
        "insert+commit of 400 bytes + one CSV line fsynced), interleaved by segments of "
        f"{segment} rows; floor {floor_rate:.0f} rows/s in this run (1.0 is the floor; lower "
        "is better)"
    )
    return [
        Record(name, round(wall, 2), f"s for {rows} rows", reference, round(ratio, 3)),
        Record(f"{name}.rows_per_s", round(rate, 1), "rows/s", reference, round(ratio, 3)),
    ]


def run(settings: Settings) -> list[Record]:
    quick = settings.batch_s < 0.05
    rows = 2_000 if quick else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="govid-bench-issuance-"))
    records: list[Record] = []
    try:
        with running_stack(tmp) as stack:
            # Over HTTP once: the civil list exists and is on the ledger, so no
            # timed issuance waits for a first publication.
            issue_credentials(stack, 1)
            ctx = open_civil(stack)
            try:
                records.append(_issuance(ctx, settings, 1))
                records.append(_issuance(ctx, settings, BATCH))
                records += _import(ctx, tmp, rows)
            finally:
                if isinstance(ctx.ledger, RegistryLedger):
                    ctx.ledger.close()
                ctx.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return records
