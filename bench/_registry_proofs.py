"""Proof growth: inclusion proofs from synthetic trees of 10^3 .. 10^7 leaves (`bench.registry`)."""

from __future__ import annotations

import math
import os
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.registry import _Plan

from bench._harness import Record, Settings, compare

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
    from registry.store import REGISTRY_TABLES
    from service.database import make_engine

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
