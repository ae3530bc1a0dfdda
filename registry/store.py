"""The ledger in SQL (SQLModel): entries, tree nodes, checkpoints and derived state.

The caller owns the transaction: `SqlLedger` reads and writes through the
session it is given, and the sequencer commits once per batch. Tree nodes are
stored for every perfect subtree as the log grows, so a proof at any size reads
O(log n) rows and nothing is ever recomputed (RFC 9162 §2.1.1).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence

from sqlalchemy import BigInteger, Column, LargeBinary, Text, and_, bindparam, or_
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import Select

from registry.entry import LogEntry
from registry.merkle import leaf_hash, node_hash
from registry.operations import Operation
from registry.state import (
    Accreditation,
    DIDState,
    Effect,
    StatusListRecord,
    accreditation_from_json,
    did_state_from_json,
    did_state_to_json,
)


class EntryRow(SQLModel, table=True):
    __tablename__ = "registry_entry"

    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    time_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    op_hash: str = Field(unique=True, index=True)
    did: str = Field(index=True)
    op_type: str
    # Exactly one operation may follow a given previous one (and one list
    # publication carry a given sequence number): the unique index turns a
    # lost race into an IntegrityError instead of a fork (`Operation.chain_key`).
    chain_key: str | None = Field(default=None, unique=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class NodeRow(SQLModel, table=True):
    __tablename__ = "registry_node"

    level: int = Field(primary_key=True)
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogMetaRow(SQLModel, table=True):
    __tablename__ = "registry_log_meta"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_time_ms: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class CheckpointRow(SQLModel, table=True):
    __tablename__ = "registry_checkpoint"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))  # signed by the log only
    cosigned: str | None = Field(default=None, sa_column=Column(Text))  # plus witnesses
    cosignatures: int = 0
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class DIDRow(SQLModel, table=True):
    __tablename__ = "registry_did"

    did: str = Field(primary_key=True)
    state: str = Field(sa_column=Column(Text, nullable=False))


class AccreditationRow(SQLModel, table=True):
    __tablename__ = "registry_accreditation"

    id: str = Field(primary_key=True)
    subject: str = Field(index=True)
    accreditor: str = Field(index=True)
    data: str = Field(sa_column=Column(Text, nullable=False))


class StatusListRow(SQLModel, table=True):
    """The latest publication of each list; a list is named by (issuer, uri) (§5.7)."""

    __tablename__ = "registry_status_list"

    issuer: str = Field(primary_key=True)
    uri: str = Field(primary_key=True)
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    idx: int = Field(sa_column=Column(BigInteger, nullable=False))
    token: str = Field(sa_column=Column(Text, nullable=False))


REGISTRY_TABLES = [
    SQLModel.metadata.tables[t.__tablename__]
    for t in (
        EntryRow,
        NodeRow,
        LogMetaRow,
        CheckpointRow,
        DIDRow,
        AccreditationRow,
        StatusListRow,
    )
]


@functools.lru_cache(maxsize=128)
def _nodes_statement(count: int) -> Select[int, int, bytes]:
    """`count` tree nodes by primary key, as an OR of lookups, built once per count.

    Not `(level, idx) IN (VALUES ...)`: SQLite answers a row-value IN list with
    a full table scan, which made every proof and checkpoint O(n). An OR of
    key lookups is O(log n) index seeks on SQLite (MULTI-INDEX OR) and on
    PostgreSQL (BitmapOr); caching the statement keeps its construction off
    the proof path.
    """
    level, idx = col(NodeRow.level), col(NodeRow.idx)
    match = or_(
        *(and_(level == bindparam(f"p{k}_l"), idx == bindparam(f"p{k}_i")) for k in range(count))
    )
    return select(level, idx, col(NodeRow.hash)).where(match)


class SqlLedger:
    """`LedgerView` plus appends, over one session. The caller commits."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._root: str | None = None
        # What this store wrote in the open transaction. Entries, DID states and
        # tree nodes are written only through `write_entry`, so reads of them
        # consult these first and then query *without* autoflush: otherwise each
        # read in a batch flushes the previous entry's rows one statement at a
        # time, which costs more than everything else an append does.
        self._ops: set[str] = set()  # known to be in the log
        self._absent_ops: set[str] = set()  # known not to be, before this transaction
        self._did_rows: dict[str, DIDRow | None] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}

    # --- LedgerView -------------------------------------------------------------

    def root_did(self) -> str | None:
        if self._root is None:
            row = self._s.get(EntryRow, 0)
            self._root = row.did if row is not None else None
        return self._root

    def _did_row(self, did: str) -> DIDRow | None:
        if did not in self._did_rows:
            with self._s.no_autoflush:
                self._did_rows[did] = self._s.get(DIDRow, did)
        return self._did_rows[did]

    def did_state(self, did: str) -> DIDState | None:
        row = self._did_row(did)
        return did_state_from_json(json.loads(row.state)) if row is not None else None

    def prefetch(self, op_hashes: Sequence[str], dids: Sequence[str]) -> None:
        """Read in a few queries what checking a batch reads one by one otherwise:
        which of `op_hashes` are in the log, and the rows of `dids`."""
        hashes = sorted(set(op_hashes) - self._ops - self._absent_ops)
        wanted = sorted({d for d in dids if d not in self._did_rows})
        with self._s.no_autoflush:
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                stmt = select(EntryRow.op_hash).where(col(EntryRow.op_hash).in_(chunk))
                present = set(self._s.exec(stmt))
                self._ops.update(present)
                self._absent_ops.update(h for h in chunk if h not in present)
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = self._s.exec(select(DIDRow).where(col(DIDRow.did).in_(chunk)))
                found = {r.did: r for r in rows}
                self._did_rows.update({d: found.get(d) for d in chunk})

    def has_operation(self, op_hash: str) -> bool:
        if op_hash in self._ops:
            return True
        if op_hash in self._absent_ops:
            return False
        stmt = select(EntryRow.idx).where(EntryRow.op_hash == op_hash)
        with self._s.no_autoflush:
            return self._s.exec(stmt).first() is not None

    def accreditation(self, accreditation_id: str) -> Accreditation | None:
        row = self._s.get(AccreditationRow, accreditation_id)
        return accreditation_from_json(json.loads(row.data)) if row is not None else None

    def accreditations_of(self, did: str) -> list[Accreditation]:
        rows = self._s.exec(select(AccreditationRow).where(AccreditationRow.subject == did))
        return [accreditation_from_json(json.loads(r.data)) for r in rows]

    def status_list(self, issuer: str, uri: str) -> StatusListRecord | None:
        row = self._s.get(StatusListRow, (issuer, uri))
        if row is None:
            return None
        return StatusListRecord(row.uri, row.issuer, row.sequence, row.idx, row.token)

    # --- the log ------------------------------------------------------------------

    def meta(self) -> LogMetaRow:
        row = self._s.get(LogMetaRow, 1)
        if row is None:
            row = LogMetaRow(id=1, size=0, last_time_ms=0)
            self._s.add(row)
            self._s.flush()
        return row

    def size(self) -> int:
        return self.meta().size

    def node(self, level: int, idx: int) -> bytes:
        if (level, idx) in self._nodes:
            return self._nodes[(level, idx)]
        with self._s.no_autoflush:
            row = self._s.get(NodeRow, (level, idx))
        if row is None:
            raise KeyError((level, idx))
        return row.hash

    def nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        """Fetch many nodes in one query, in the order asked."""
        if not ids:
            return []
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            params: dict[str, int] = {}
            for k, (level, idx) in enumerate(chunk):
                params[f"p{k}_l"], params[f"p{k}_i"] = level, idx
            rows = self._s.exec(_nodes_statement(len(chunk)), params=params)
            found.update({(lv, i): value for lv, i, value in rows})
        missing = [i for i in ids if i not in found]
        if missing:
            raise KeyError(missing[0])
        return [found[i] for i in ids]

    def write_entry(self, op: Operation, effect: Effect, entry: LogEntry) -> None:
        """Write one accepted entry: the row, its tree nodes, and the derived state."""
        data = entry.to_bytes()
        self._s.add(
            EntryRow(
                idx=entry.index,
                time_ms=entry.time_ms,
                op_hash=op.op_hash,
                did=op.did,
                op_type=op.type,
                chain_key=op.chain_key,
                data=data,
            )
        )
        self._ops.add(op.op_hash)
        self._add_nodes(entry.index, leaf_hash(data))
        state = effect.did_state
        row = self._did_row(state.did)
        text = json.dumps(did_state_to_json(state), separators=(",", ":"))
        if row is None:
            self._did_rows[state.did] = new_row = DIDRow(did=state.did, state=text)
            self._s.add(new_row)
        else:
            row.state = text
            self._s.add(row)
        for acc in (effect.new_accreditation, effect.revoked_accreditation):
            if acc is not None:
                self._s.merge(
                    AccreditationRow(
                        id=acc.id,
                        subject=acc.subject,
                        accreditor=acc.accreditor,
                        data=json.dumps(acc.to_json()),
                    )
                )
        if (sl := effect.status_list) is not None:
            self._s.merge(
                StatusListRow(
                    uri=sl.uri, issuer=sl.issuer, sequence=sl.sequence, idx=sl.index, token=sl.token
                )
            )
        meta = self.meta()
        meta.size = entry.index + 1
        meta.last_time_ms = entry.time_ms
        self._s.add(meta)
        if entry.index == 0:
            self._root = op.did

    def _add_nodes(self, index: int, leaf: bytes) -> None:
        # Store the leaf and every perfect subtree it completes: node (l, i)
        # covers leaves [i * 2^l, (i + 1) * 2^l).
        level, idx, value = 0, index, leaf
        self._s.add(NodeRow(level=0, idx=index, hash=leaf))
        self._nodes[(0, index)] = leaf
        while idx & 1:
            value = node_hash(self.node(level, idx - 1), value)
            level, idx = level + 1, idx >> 1
            self._nodes[(level, idx)] = value
            self._s.add(NodeRow(level=level, idx=idx, hash=value))

    def entries(self, start: int, end: int) -> list[EntryRow]:
        stmt = (
            select(EntryRow)
            .where(EntryRow.idx >= start, EntryRow.idx < end)
            .order_by(col(EntryRow.idx))
        )
        return list(self._s.exec(stmt))

    def entries_of(self, did: str, *, up_to_index: int | None = None) -> list[EntryRow]:
        """The DID's chain: its operations except status list publications."""
        stmt = select(EntryRow).where(
            EntryRow.did == did, EntryRow.op_type != "status_list.publish"
        )
        if up_to_index is not None:
            stmt = stmt.where(EntryRow.idx <= up_to_index)
        return list(self._s.exec(stmt.order_by(col(EntryRow.idx))))

    def revocation_entry(self, accreditation_id: str) -> EntryRow | None:
        """The entry that revoked an accreditation (scans that author's revocations)."""
        acc = self.accreditation(accreditation_id)
        if acc is None:
            return None
        stmt = select(EntryRow).where(EntryRow.op_type == "accreditation.revoke")
        for row in self._s.exec(stmt.order_by(col(EntryRow.idx))):
            payload = json.loads(LogEntry.parse(row.data).operation_payload())
            if payload.get("accreditation") == accreditation_id:
                return row
        return None

    def entry_by_hash(self, op_hash: str) -> EntryRow | None:
        return self._s.exec(select(EntryRow).where(EntryRow.op_hash == op_hash)).first()

    # --- checkpoints -----------------------------------------------------------------

    def latest_checkpoint(self) -> CheckpointRow | None:
        stmt = select(CheckpointRow).order_by(col(CheckpointRow.size).desc()).limit(1)
        return self._s.exec(stmt).first()

    def latest_cosigned_checkpoint(self, *, min_cosignatures: int) -> CheckpointRow | None:
        stmt = (
            select(CheckpointRow)
            .where(CheckpointRow.cosignatures >= min_cosignatures)
            .order_by(col(CheckpointRow.size).desc())
            .limit(1)
        )
        return self._s.exec(stmt).first()

    def checkpoints(self, start: int, limit: int) -> list[CheckpointRow]:
        stmt = (
            select(CheckpointRow)
            .where(CheckpointRow.size >= start)
            .order_by(col(CheckpointRow.size))
            .limit(limit)
        )
        return list(self._s.exec(stmt))

    def checkpoint(self, size: int) -> CheckpointRow | None:
        return self._s.get(CheckpointRow, size)

    def add_checkpoint(self, row: CheckpointRow) -> None:
        self._s.add(row)

    def statuses_of(self, issuer: str) -> Iterable[StatusListRow]:
        return self._s.exec(select(StatusListRow).where(StatusListRow.issuer == issuer))
