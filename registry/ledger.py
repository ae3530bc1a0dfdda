"""The sequencer's domain logic: append batches, sign checkpoints, answer with proofs.

Everything here is synchronous and owns one transaction per call; the HTTP
layer (`registry.api`) batches concurrent requests into `append_batch` calls
and runs them on one writer thread.

An append is acknowledged only after the transaction that wrote its entry, its
tree nodes and the derived state has committed (SQLite in WAL mode with
`synchronous=FULL`, or PostgreSQL's default synchronous commit).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from did.encoding import b64_encode, b64url_encode
from did.errors import GovidError
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.entry import LogEntry
from registry.merkle import (
    NodeID,
    consistency_plan,
    inclusion_plan,
    root_from_subtree_hashes,
    root_plan,
    verify_consistency,
)
from registry.note import NoteSigner
from registry.operation_errors import (
    PrevMismatch,
    StorageUnavailable,
    UnknownDID,
    UnknownStatusList,
)
from registry.operations import Operation
from registry.resolution import document_metadata, version_prefix
from registry.rules import check_operation, held_accreditations, replay_did
from registry.state import render_document
from registry.store import CheckpointRow, EntryRow, SqlLedger


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    op_hash: str
    did: str
    time_ms: int


Outcome = Appended | GovidError


class Ledger:
    """One deployment's log: the single writer and the proof server."""

    def __init__(
        self,
        engine: Engine,
        *,
        origin: str,
        signer: NoteSigner,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.origin = origin
        self.signer = signer
        self._clock = clock

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- appends ----------------------------------------------------------------

    def append_batch(self, ops: Sequence[Operation]) -> list[Outcome]:
        """Check and append `ops` in order, in one durable transaction.

        Each operation gets its own outcome; a refused one does not affect the
        others (later ones in the batch see the earlier ones' effects).
        """
        try:
            return self._append_batch(ops)
        except IntegrityError:
            # Another writer won a race on an index or a `prev` (only possible
            # with more than one sequencer process). Retry one at a time so that
            # each operation gets its own, correct answer.
            outcomes: list[Outcome] = []
            for op in ops:
                try:
                    outcomes.extend(self._append_batch([op]))
                except IntegrityError:
                    outcomes.append(PrevMismatch("another operation won the race for 'prev'"))
            return outcomes
        except OperationalError as exc:
            raise StorageUnavailable("the ledger database is unavailable") from exc

    def _append_batch(self, ops: Sequence[Operation]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with self.session() as session:
            store = SqlLedger(session)
            meta = store.meta()
            size, last_ms = meta.size, meta.last_time_ms
            # Log time never runs backwards, even if the wall clock does.
            now_ms = max(int(self._clock() * 1000), last_ms)
            store.prefetch([op.op_hash for op in ops], [op.did for op in ops])
            for op in ops:
                try:
                    effect = check_operation(op, store, index=size, time_ms=now_ms)
                except GovidError as exc:
                    outcomes.append(exc)
                    continue
                store.write_entry(op, effect, LogEntry(size, now_ms, op.compact))
                outcomes.append(Appended(size, op.op_hash, op.did, now_ms))
                size += 1
            session.commit()
        return outcomes

    def accountable(self, did: str) -> bool:
        """True if `did` is the root authority or holds an accreditation that counts now.

        Such an author answers for what it writes (its accreditor can revoke
        it), so the registry does not hold its writes back (method spec §10.1).
        """
        with self.session() as session:
            store = SqlLedger(session)
            if did == store.root_did():
                return True
            now_ms = int(self._clock() * 1000)
            return bool(held_accreditations(store, did, role=None, time_ms=now_ms))

    # --- checkpoints --------------------------------------------------------------

    def root_at(self, store: SqlLedger, size: int) -> bytes:
        return root_from_subtree_hashes(store.nodes(list(root_plan(size))))

    def sign_new_checkpoint(self) -> CheckpointRow | None:
        """Sign a checkpoint for the current size if the log grew; None otherwise.

        A new checkpoint is signed only after checking that it is consistent
        with the last one signed (RFC 9162 §2.1.4): a corrupted or rolled-back
        store stops the log instead of making it sign a fork.
        """
        with self.session() as session:
            store = SqlLedger(session)
            size = store.size()
            last = store.latest_checkpoint()
            if size == 0 or (last is not None and last.size >= size):
                return None
            root = self.root_at(store, size)
            if last is not None:
                proof = self._prove_consistency(store, last.size, size)
                verify_consistency(
                    old_size=last.size,
                    new_size=size,
                    old_root=last.root,
                    new_root=root,
                    proof=proof,
                )
            note = sign_checkpoint(Checkpoint(self.origin, size, root), signer=self.signer)
            row = CheckpointRow(
                size=size,
                root=root,
                note=note,
                cosigned=None,
                cosignatures=0,
                created_ms=int(self._clock() * 1000),
            )
            store.add_checkpoint(row)
            session.commit()
            return row

    def record_cosigned(self, size: int, note: str, count: int) -> None:
        with self.session() as session:
            row = session.get(CheckpointRow, size)
            if row is not None and count >= row.cosignatures:
                row.cosigned, row.cosignatures = note, count
                session.add(row)
                session.commit()

    def _prove_consistency(self, store: SqlLedger, old: int, new: int) -> list[bytes]:
        plan = consistency_plan(old, new)
        return plan.rehash(store.nodes(list(plan.nodes)))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        with self.session() as session:
            store = SqlLedger(session)
            if new > store.size():
                from registry.errors import ProofRequestInvalid

                raise ProofRequestInvalid("the new size is larger than the log")
            return self._prove_consistency(store, old, new)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self.session() as session:
            return self._prove_inclusion(SqlLedger(session), index, size)

    def _prove_inclusion(self, store: SqlLedger, index: int, size: int) -> list[bytes]:
        plan = inclusion_plan(index, size)
        return plan.rehash(store.nodes([NodeID(*n) for n in plan.nodes]))

    def size(self) -> int:
        with self.session() as session:
            return SqlLedger(session).size()

    def gauges(self) -> dict[str, float]:
        """For /metrics: the log's size and how far witnesses lag behind it."""
        with self.session() as session:
            store = SqlLedger(session)
            size = store.size()
            signed = store.latest_checkpoint()
            cosigned = store.latest_cosigned_checkpoint(min_cosignatures=1)
        return {
            "ledger_size": float(size),
            "ledger_checkpoint_size": float(signed.size if signed else 0),
            "witness_lag_entries": float(size - (cosigned.size if cosigned else 0)),
        }

    def latest_checkpoint_note(self, *, min_cosignatures: int = 0) -> str | None:
        with self.session() as session:
            store = SqlLedger(session)
            row = store.latest_cosigned_checkpoint(min_cosignatures=min_cosignatures)
            if row is None:
                return None
            return row.cosigned or row.note

    def checkpoints(self, start: int, limit: int) -> list[CheckpointRow]:
        with self.session() as session:
            return SqlLedger(session).checkpoints(start, limit)

    def entries(self, start: int, end: int) -> list[EntryRow]:
        with self.session() as session:
            return SqlLedger(session).entries(start, end)

    # --- resolution ---------------------------------------------------------------

    def resolve(
        self,
        did: str,
        *,
        version_id: int | None = None,
        version_time: datetime | None = None,
        min_cosignatures: int = 0,
    ) -> dict[str, Any]:
        """The DID Resolution result for `did` with its ledger proof (method spec §7).

        The `ledgerProof` covers the DID's whole chain, whatever version is
        asked, so that a client can recompute both the version's document and
        the metadata that describe the DID now (`deactivated`, `keyHistory`,
        `nextVersionId`). Raises `UnknownDID` when the DID does not exist and
        `DIDNotFound` when the asked version does not.
        """
        with self.session() as session:
            store = SqlLedger(session)
            rows = store.entries_of(did)
            if not rows:
                raise UnknownDID("the DID is not in the log")
            chain = [
                (Operation.parse(LogEntry.parse(r.data).operation, ledger=self.origin), r)
                for r in rows
            ]
            length = version_prefix(
                [(op.type, r.time_ms) for op, r in chain],
                version_id=version_id,
                version_time=version_time,
            )
            state = replay_did([(op, r.idx, r.time_ms) for op, r in chain[:length]])
            latest = store.did_state(did)
            assert latest is not None
            checkpoint = store.latest_cosigned_checkpoint(min_cosignatures=min_cosignatures)
            proof = self._ledger_proof(store, rows, checkpoint)
        return {
            "didDocument": render_document(state),
            "didDocumentMetadata": document_metadata(state, latest, proof),
            "didResolutionMetadata": {},
        }

    def _ledger_proof(
        self, store: SqlLedger, rows: list[EntryRow], checkpoint: CheckpointRow | None
    ) -> dict[str, Any] | None:
        last = rows[-1]
        if checkpoint is None or checkpoint.size <= last.idx:
            return None  # not yet covered by a signed checkpoint; clients retry
        size = checkpoint.size

        # Indices and sizes are decimal strings: DID Core §7.3 allows no numbers
        # in metadata, and one proof shape serves resolution, accreditations
        # and status lists alike (method spec §7.2).
        def proved(row: EntryRow) -> dict[str, Any]:
            path = self._prove_inclusion(store, row.idx, size)
            return {
                "entry": b64url_encode(row.data),
                "index": str(row.idx),
                "inclusionPath": [b64_encode(h) for h in path],
            }

        head = proved(last)
        return {
            **head,
            "treeSize": str(size),
            "checkpoint": checkpoint.cosigned or checkpoint.note,
            "history": [proved(r) for r in rows[:-1]],
        }

    def accreditations_with_proofs(self, did: str, min_cosignatures: int) -> dict[str, Any]:
        """Every accreditation granted to `did`, each with its granting entry's proof."""
        with self.session() as session:
            store = SqlLedger(session)
            checkpoint = store.latest_cosigned_checkpoint(min_cosignatures=min_cosignatures)
            items = []
            for acc in sorted(store.accreditations_of(did), key=lambda a: a.granted_index):
                row = store.entries(acc.granted_index, acc.granted_index + 1)[0]
                proofs = [row]
                if acc.revoked_ms is not None:
                    revoking = store.revocation_entry(acc.id)
                    if revoking is not None:
                        proofs.append(revoking)
                items.append(
                    {
                        **acc.to_json(),
                        "ledgerProof": self._ledger_proof(store, proofs, checkpoint),
                    }
                )
        return {"did": did, "accreditations": items}

    def status_list_with_proof(
        self, issuer: str, uri: str, min_cosignatures: int
    ) -> dict[str, Any]:
        """The latest token of `issuer`'s list `uri` with the proof of its publishing entry."""
        with self.session() as session:
            store = SqlLedger(session)
            record = store.status_list(issuer, uri)
            if record is None:
                raise UnknownStatusList("this issuer has published no status list at this uri")
            checkpoint = store.latest_cosigned_checkpoint(min_cosignatures=min_cosignatures)
            row = store.entries(record.index, record.index + 1)[0]
            proof = self._ledger_proof(store, [row], checkpoint)
        return {
            "uri": record.uri,
            "issuer": record.issuer,
            "sequence": record.sequence,
            "token": record.token,
            "ledgerProof": proof,
        }


__all__ = ["Appended", "Ledger", "Outcome"]
