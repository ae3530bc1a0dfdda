"""The ledger on SQLite and PostgreSQL: durable appends, proofs, races, migrations."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from did.errors import GovidError
from registry import authoring
from registry.entry import LogEntry
from registry.ledger import Appended, Ledger
from registry.merkle import InMemoryTree, leaf_hash, verify_consistency, verify_inclusion
from registry.migrations import upgrade
from registry.note import NoteSigner
from registry.operations import Operation
from registry.store import EntryRow, SqlLedger, StatusListRow

ORIGIN = "govid.example/test-log"


@pytest.fixture
def ledger(database_url: str, engines: Callable[[str], Engine]) -> Ledger:
    engine = engines(database_url)
    upgrade(engine)
    return Ledger(engine, origin=ORIGIN, signer=NoteSigner.generate(ORIGIN))


def _create() -> tuple[authoring.Keyring, Operation]:
    keyring, op = authoring.create_did(ledger=ORIGIN)
    return keyring, Operation.parse(op, ledger=ORIGIN)


def test_migrations_create_the_tables_and_run_twice(
    database_url: str, engines: Callable[[str], Engine]
) -> None:
    engine = engines(database_url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    tables = set(inspect(engine).get_table_names())
    assert {"registry_entry", "registry_node", "registry_checkpoint"} <= tables


def test_migration_0002_names_lists_by_issuer_and_backfills_grant_keys(
    database_url: str, engines: Callable[[str], Engine]
) -> None:
    # A registry at revision 0001 with a grant and a list, as the old code stored them.
    engine = engines(database_url)
    upgrade(engine, "0001")
    root, genesis = authoring.create_did(ledger=ORIGIN)
    agency, _ = authoring.create_did(ledger=ORIGIN)
    root, grant = authoring.grant(
        root, subject=agency.did, role="issuer", credential_types=["civil"],
        valid_from=0, valid_until=10,
    )  # fmt: skip
    acc = {
        "id": "acc-1", "subject": agency.did, "accreditor": root.did, "role": "issuer",
        "credentialTypes": ["civil"], "claims": [], "validFrom": 0, "validUntil": 10,
        "grantedIndex": 1, "revoked": False, "revokedAt": None,
    }  # fmt: skip
    uri = "https://civil.example/status/1"
    with engine.begin() as conn:
        for idx, op in ((0, genesis), (1, grant)):
            conn.execute(
                text(
                    "INSERT INTO registry_entry (idx, time_ms, op_hash, did, op_type, data) "
                    "VALUES (:i, :t, :h, :d, 'x', :b)"
                ),
                {"i": idx, "t": 5000 + idx, "h": f"h{idx}", "d": root.did,
                 "b": LogEntry(idx, 5000 + idx, op).to_bytes()},
            )  # fmt: skip
        conn.execute(
            text("INSERT INTO registry_accreditation VALUES ('acc-1', :s, :a, :d)"),
            {"s": agency.did, "a": root.did, "d": json.dumps(acc)},
        )
        conn.execute(
            text("INSERT INTO registry_status_list VALUES (:u, :i, 3, 1, 'tok')"),
            {"u": uri, "i": agency.did},
        )
    upgrade(engine)
    with Session(engine) as session:
        store = SqlLedger(session)
        migrated = store.accreditation("acc-1")
        assert migrated is not None
        assert (migrated.granted_by, migrated.granted_ms) == ("#key-1", 5001)
        record = store.status_list(agency.did, uri)
        assert record is not None and (record.sequence, record.token) == (3, "tok")
        assert store.status_list(root.did, uri) is None
        # Another issuer's list under the same uri now has a place of its own.
        session.add(StatusListRow(issuer=root.did, uri=uri, sequence=1, idx=2, token="t2"))
        session.commit()
    primary_key = inspect(engine).get_pk_constraint("registry_status_list")
    assert set(primary_key["constrained_columns"]) == {"issuer", "uri"}


def test_batch_appends_get_contiguous_indices_and_provable_leaves(ledger: Ledger) -> None:
    ops = [_create()[1] for _ in range(37)]
    outcomes = ledger.append_batch(ops)
    assert [o.index for o in outcomes if isinstance(o, Appended)] == list(range(37))
    checkpoint = ledger.sign_new_checkpoint()
    assert checkpoint is not None and checkpoint.size == 37

    tree = InMemoryTree()
    for row in ledger.entries(0, 37):
        tree.append(row.data)
    assert tree.root() == checkpoint.root
    for index in (0, 1, 17, 36):
        data = ledger.entries(index, index + 1)[0].data
        verify_inclusion(
            leaf_hash=leaf_hash(data),
            index=index,
            tree_size=37,
            proof=ledger.inclusion_proof(index, 37),
            root=checkpoint.root,
        )


def test_refused_operation_does_not_disturb_its_batch(ledger: Ledger) -> None:
    _, genesis = _create()
    agency, agency_op = _create()
    stale = authoring.rotate(agency)[1]
    outcomes = ledger.append_batch(
        [genesis, agency_op, agency_op, Operation.parse(stale, ledger=ORIGIN)]
    )
    assert isinstance(outcomes[0], Appended) and isinstance(outcomes[1], Appended)
    assert isinstance(outcomes[2], GovidError) and outcomes[2].code == "ledger.operation_duplicate"
    assert isinstance(outcomes[3], Appended) and outcomes[3].index == 2
    assert ledger.size() == 3


def test_consistency_between_successive_checkpoints(ledger: Ledger) -> None:
    ledger.append_batch([_create()[1] for _ in range(5)])
    first = ledger.sign_new_checkpoint()
    ledger.append_batch([_create()[1] for _ in range(11)])
    second = ledger.sign_new_checkpoint()
    assert first is not None and second is not None
    assert ledger.sign_new_checkpoint() is None  # nothing new: no new checkpoint
    verify_consistency(
        old_size=5,
        new_size=16,
        old_root=first.root,
        new_root=second.root,
        proof=ledger.consistency_proof(5, 16),
    )


def test_racing_sequencers_cannot_fork_a_did_chain(
    ledger: Ledger, database_url: str, engines: Callable[[str], Engine]
) -> None:
    # Two processes' worth of writers: separate Ledger objects, one database.
    _, genesis = _create()
    agency, create = _create()
    ledger.append_batch([genesis, create])
    other = Ledger(engines(database_url), origin=ORIGIN, signer=ledger.signer)
    # Two different updates naming the same `prev`: exactly one may win.
    first = Operation.parse(authoring.rotate(agency)[1], ledger=ORIGIN)
    second = Operation.parse(authoring.rotate(agency, compromised=True)[1], ledger=ORIGIN)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def run(target: Ledger, op: Operation) -> None:
        barrier.wait()
        results.extend(target.append_batch([op]))

    threads = [
        threading.Thread(target=run, args=(ledger, first)),
        threading.Thread(target=run, args=(other, second)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if isinstance(r, Appended)]
    losers = [r for r in results if isinstance(r, GovidError)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].code in ("ledger.prev_mismatch", "ledger.storage_unavailable")
    assert ledger.size() == 3
    rows: list[EntryRow] = ledger.entries(0, 10)
    assert [LogEntry.parse(r.data).index for r in rows] == [0, 1, 2]


def test_resolution_carries_a_proof_for_every_chain_entry(ledger: Ledger) -> None:
    _, genesis = _create()
    agency, create = _create()
    _, rotation = authoring.rotate(agency)
    ledger.append_batch([genesis, create, Operation.parse(rotation, ledger=ORIGIN)])
    ledger.sign_new_checkpoint()
    result = ledger.resolve(agency.did)
    proof = result["didDocumentMetadata"]["ledgerProof"]
    assert proof["index"] == "2" and proof["treeSize"] == "3"
    assert [h["index"] for h in proof["history"]] == ["1"]
    old = ledger.resolve(agency.did, version_id=1)
    assert old["didDocumentMetadata"]["nextVersionId"] == "2"
    assert old["didDocumentMetadata"]["ledgerProof"]["index"] == "2"  # the whole chain
    assert old["didDocument"]["verificationMethod"][0]["id"].endswith("#key-1")


def test_sqlite_file_is_in_wal_mode(tmp_path: Path, engines: Callable[[str], Engine]) -> None:
    engine = engines(f"sqlite:///{tmp_path}/wal.db")
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert mode == "wal" and sync == 2  # 2 = FULL
