"""The wallet's tables (SQLModel) and its repository. The caller owns the transaction.

Only ids, timestamps and a use counter are in the clear; everything else (the
credentials, their holder keys, what they say, who issued them, the history)
is a sealed JSON blob (`holder_wallet.crypto`), bound to its table and row id.
The data key is wrapped under the passphrase in `wallet_meta`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, Text
from sqlalchemy.engine import Engine
from sqlmodel import Column, Field, Session, SQLModel, col, select

from holder_wallet.crypto import KDFParams, Rng, open_sealed, seal
from holder_wallet.errors import CredentialNotFound, WalletNotInitialised
from service.private_files import private_database, private_dir, scrub_after_commit

__all__ = [
    "CopyRow",
    "CredentialRow",
    "HistoryRow",
    "MetaRow",
    "StoredCopy",
    "StoredCredential",
    "WalletStore",
    "open_engine",
    "read_meta",
]


class MetaRow(SQLModel, table=True):
    __tablename__ = "wallet_meta"

    id: int = Field(primary_key=True)
    kdf: str = Field(sa_column=Column(Text, nullable=False))
    wrapped_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: int = Field(sa_type=BigInteger)


class CredentialRow(SQLModel, table=True):
    __tablename__ = "wallet_credential"

    id: str = Field(primary_key=True, max_length=64)
    created_at: int = Field(sa_type=BigInteger)
    blob: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CopyRow(SQLModel, table=True):
    __tablename__ = "wallet_copy"

    id: str = Field(primary_key=True, max_length=64)
    credential_id: str = Field(index=True, max_length=64, foreign_key="wallet_credential.id")
    used: int = 0
    created_at: int = Field(sa_type=BigInteger)
    blob: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class HistoryRow(SQLModel, table=True):
    __tablename__ = "wallet_history"

    id: str = Field(primary_key=True, max_length=64)
    at: int = Field(index=True, sa_type=BigInteger)
    blob: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


WALLET_TABLES = [
    SQLModel.metadata.tables[t]
    for t in ("wallet_meta", "wallet_credential", "wallet_copy", "wallet_history")
]


@dataclass(slots=True)
class StoredCredential:
    """One credential as the citizen sees it; its batch copies live in `StoredCopy`."""

    id: str
    created_at: int
    record: dict[str, Any]  # vct, iss, credential_issuer, display, claims, status, ...
    copies: int = 0


@dataclass(slots=True)
class StoredCopy:
    """One issued copy: the SD-JWT and the private JWK of the key it is bound to."""

    id: str
    credential_id: str
    used: int
    created_at: int
    secret: dict[str, Any] = field(default_factory=dict)  # {"sd_jwt", "holder_jwk", "status"}

    @property
    def sd_jwt(self) -> str:
        return str(self.secret["sd_jwt"])


def open_engine(directory: Path) -> Engine:
    """The wallet database in `directory` (0700), migrated to the latest schema.

    The database file and its `-wal`/`-shm` are 0600 and deleted rows are
    zeroed (`service.private_files`): sealed, but still nobody else's to copy.
    """
    from holder_wallet.migrations import upgrade
    from service.database import make_engine

    private_dir(directory)
    engine = private_database(make_engine(f"sqlite:///{directory / 'wallet.db'}"))
    upgrade(engine)
    return engine


def read_meta(session: Session) -> tuple[KDFParams, bytes]:
    row = session.get(MetaRow, 1)
    if row is None:
        raise WalletNotInitialised("no wallet here yet; run 'govid wallet init'")
    return KDFParams.from_json(json.loads(row.kdf)), row.wrapped_key


def _aad(table: str, row_id: str) -> bytes:
    return f"govid-wallet/{table}/{row_id}".encode()


class WalletStore:
    """Reads and writes sealed rows with the unlocked data key. The caller commits."""

    def __init__(self, session: Session, key: bytes, *, rng: Rng | None = None) -> None:
        self._session = session
        self._key = key
        self._rng = rng

    def _seal(self, table: str, row_id: str, value: Any) -> bytes:
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        if self._rng is None:
            return seal(self._key, data, aad=_aad(table, row_id))
        return seal(self._key, data, aad=_aad(table, row_id), rng=self._rng)

    def _open(self, table: str, row_id: str, blob: bytes) -> Any:
        return json.loads(open_sealed(self._key, blob, aad=_aad(table, row_id)))

    # --- credentials --------------------------------------------------------------------

    def add_credential(self, credential: StoredCredential, copies: Sequence[StoredCopy]) -> None:
        self._session.add(
            CredentialRow(
                id=credential.id,
                created_at=credential.created_at,
                blob=self._seal("credential", credential.id, credential.record),
            )
        )
        self._session.flush()  # the copies' foreign key needs the credential row first
        for copy in copies:
            self._session.add(
                CopyRow(
                    id=copy.id,
                    credential_id=credential.id,
                    used=copy.used,
                    created_at=copy.created_at,
                    blob=self._seal("copy", copy.id, copy.secret),
                )
            )

    def update_record(self, credential: StoredCredential) -> None:
        row = self._session.get(CredentialRow, credential.id)
        if row is None:
            raise CredentialNotFound("no such credential in this wallet")
        row.blob = self._seal("credential", credential.id, credential.record)
        self._session.add(row)

    def credentials(self) -> list[StoredCredential]:
        rows = self._session.exec(
            select(CredentialRow).order_by(col(CredentialRow.created_at), col(CredentialRow.id))
        ).all()
        counts: dict[str, int] = {}
        for copy in self._session.exec(select(CopyRow.credential_id)).all():
            counts[copy] = counts.get(copy, 0) + 1
        return [
            StoredCredential(
                r.id, r.created_at, self._open("credential", r.id, r.blob), counts.get(r.id, 0)
            )
            for r in rows
        ]

    def credential(self, credential_id: str) -> StoredCredential:
        row = self._session.get(CredentialRow, credential_id)
        if row is None:
            raise CredentialNotFound("no such credential in this wallet")
        copies = len(
            self._session.exec(select(CopyRow.id).where(CopyRow.credential_id == row.id)).all()
        )
        return StoredCredential(
            row.id, row.created_at, self._open("credential", row.id, row.blob), copies
        )

    def copies(self, credential_id: str) -> list[StoredCopy]:
        rows = self._session.exec(
            select(CopyRow)
            .where(CopyRow.credential_id == credential_id)
            .order_by(col(CopyRow.used), col(CopyRow.created_at), col(CopyRow.id))
        ).all()
        return [
            StoredCopy(
                r.id, r.credential_id, r.used, r.created_at, self._open("copy", r.id, r.blob)
            )
            for r in rows
        ]

    def freshest_copy(self, credential_id: str) -> StoredCopy:
        """The least used copy: a fresh one per presentation while any is left (unlinkability)."""
        copies = self.copies(credential_id)
        if not copies:
            raise CredentialNotFound("no such credential in this wallet")
        return copies[0]

    def mark_used(self, copy_id: str) -> None:
        row = self._session.get(CopyRow, copy_id)
        if row is not None:
            row.used += 1
            self._session.add(row)

    def update_copy(self, copy: StoredCopy) -> None:
        row = self._session.get(CopyRow, copy.id)
        if row is not None:
            row.blob = self._seal("copy", copy.id, copy.secret)
            self._session.add(row)

    def delete_credential(self, credential_id: str) -> None:
        for copy in self._session.exec(
            select(CopyRow).where(CopyRow.credential_id == credential_id)
        ).all():
            self._session.delete(copy)
        row = self._session.get(CredentialRow, credential_id)
        if row is None:
            raise CredentialNotFound("no such credential in this wallet")
        self._session.flush()
        self._session.delete(row)
        scrub_after_commit(self._session)  # zeroed pages replace the old ones in the WAL too

    # --- history -----------------------------------------------------------------------------

    def add_history(self, entry_id: str, at: int, entry: dict[str, Any]) -> None:
        self._session.add(
            HistoryRow(id=entry_id, at=at, blob=self._seal("history", entry_id, entry))
        )

    def history(self) -> list[dict[str, Any]]:
        rows = self._session.exec(
            select(HistoryRow).order_by(col(HistoryRow.at).desc(), col(HistoryRow.id))
        ).all()
        return [{"id": r.id, "at": r.at, **self._open("history", r.id, r.blob)} for r in rows]
