"""The issuer's tables (SQLModel) and the repository over them. The caller owns the transaction.

What is kept (issue 4 item 6, ARCHITECTURE "Credentials"): agencies and their
sealed keys; OAuth clients (secrets hashed); access tokens, pre-authorized
codes, transaction codes and nonces as SHA-256 hashes only; offers, whose
sealed claim values are deleted once the offer is redeemed or expires; per
credential only id, type, status list index, batch, validity and a salted
hash of the subject's identifier; an append-only audit table.

Single use and counters (issue 13 item 2) are decided by the database, not
by a read in Python followed by a write: each transition is one conditional
`UPDATE ... WHERE state = ...` (or a `DELETE`) whose row count says whether
this caller won, and counters are incremented in SQL. On PostgreSQL a
concurrent UPDATE of the same row waits for the first to commit and then
re-checks its WHERE clause; on SQLite every write transaction begins with
`BEGIN IMMEDIATE` (see `make_engine`), so no two of them ever overlap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    LargeBinary,
    Text,
    UniqueConstraint,
    delete,
    event,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, col, func, select

from service.database import make_engine as _durable_engine
from service.private_files import scrub_after_commit

__all__ = [
    "AgencyRow",
    "AuditRow",
    "ClientRow",
    "CredentialRow",
    "ISSUER_TABLES",
    "IssuerStore",
    "NonceRow",
    "OfferRow",
    "StatusListRow",
    "TokenRow",
    "checkpoint",
    "make_engine",
    "read_only",
]

# Execution option naming a read-only transaction (SQLite: BEGIN DEFERRED).
_READ_ONLY = "govid_read_only"


def make_engine(url: str) -> Engine:
    """The durable engine of `registry.store`, with serialised writes on SQLite.

    pysqlite normally opens a transaction lazily, just before the first
    INSERT/UPDATE/DELETE, so a SELECT that decides a write runs outside it and
    `SELECT ... FOR UPDATE` is not even supported by SQLite. Here pysqlite's
    own BEGIN is turned off and every transaction starts with `BEGIN
    IMMEDIATE`, which takes the database's write lock at once (waiting up to
    the busy timeout); read-only work asks for `BEGIN DEFERRED` through
    `read_only(engine)`. This is SQLAlchemy's documented recipe for pysqlite
    ("Serializable isolation / Savepoints / Transactional DDL").
    """
    engine = _durable_engine(url)
    if engine.dialect.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        # Overwrite deleted content (a replaced keyring, deleted claim values) with
        # zeros instead of leaving it in free pages (SQLite "PRAGMA secure_delete").
        dbapi_connection.execute("PRAGMA secure_delete=ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # no transaction at all (e.g. `checkpoint`)
        read = options.get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read else "BEGIN IMMEDIATE")

    return engine


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database and truncate it, now.

    After a secret was replaced (a rotated keyring), its old sealed bytes would
    otherwise stay in `-wal` until a later checkpoint reuses those frames.
    Best effort: with readers active SQLite checkpoints what it can. A no-op on
    other databases (PostgreSQL reclaims old row versions with VACUUM).
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def read_only(engine: Engine) -> Engine:
    """`engine` for transactions that only read: on SQLite they do not take the write lock."""
    return engine.execution_options(**{_READ_ONLY: True})


def _big(*, nullable: bool = False, **kw: Any) -> Any:
    return Field(sa_column=Column(BigInteger, nullable=nullable, **kw))


class AgencyRow(SQLModel, table=True):
    __tablename__ = "issuer_agency"

    slug: str = Field(primary_key=True)
    name: str
    did: str = Field(unique=True)
    keyring: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # sealed
    subject_salt: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # sealed
    credential_types: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    created_at: int = _big()

    def type_ids(self) -> list[str]:
        value: list[str] = json.loads(self.credential_types)
        return value


class ClientRow(SQLModel, table=True):
    __tablename__ = "issuer_client"

    client_id: str = Field(primary_key=True)
    agency: str = Field(index=True)
    secret_hash: str
    scopes: str  # space-separated (RFC 6749 §3.3)
    created_at: int = _big()


class TokenRow(SQLModel, table=True):
    __tablename__ = "issuer_token"

    token_hash: str = Field(primary_key=True)
    kind: str  # "agency" (client credentials) or "wallet" (pre-authorized code)
    agency: str = Field(index=True)
    client_id: str | None = None
    offer_id: str | None = None
    scopes: str = ""
    expires_at: int = _big()


class OfferRow(SQLModel, table=True):
    __tablename__ = "issuer_offer"

    id: str = Field(primary_key=True)
    agency: str = Field(index=True)
    configuration_id: str
    claims: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    code_hash: str = Field(unique=True)
    code_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    tx_code_hash: str | None = None
    tx_attempts: int = 0
    state: str = "pending"  # pending -> redeemed -> issued; or locked / expired
    subject_hash: str = Field(index=True)
    created_at: int = _big()
    expires_at: int = _big()
    import_key: str | None = Field(default=None, unique=True)


class NonceRow(SQLModel, table=True):
    __tablename__ = "issuer_nonce"

    nonce_hash: str = Field(primary_key=True)
    expires_at: int = _big()


class StatusListRow(SQLModel, table=True):
    __tablename__ = "issuer_status_list"

    id: int | None = Field(default=None, primary_key=True)
    agency: str = Field(index=True)
    uri: str = Field(unique=True)
    size: int = _big()
    bits: int
    allocated: int = _big()
    dirty: bool = True
    sequence: int = 0  # of the last publication on the ledger
    token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    token_iat: int | None = _big(nullable=True)


class CredentialRow(SQLModel, table=True):
    __tablename__ = "issuer_credential"
    __table_args__ = (UniqueConstraint("list_id", "idx", name="uq_issuer_credential_slot"),)

    id: str = Field(primary_key=True)
    agency: str = Field(index=True)
    offer_id: str = Field(index=True)
    batch_id: str = Field(index=True)
    configuration_id: str
    list_id: int
    idx: int = _big()
    status: int = 0
    subject_hash: str = Field(index=True)
    issued_at: int = _big()
    expires_at: int = _big()


class AuditRow(SQLModel, table=True):
    __tablename__ = "issuer_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: int = _big()
    agency: str = Field(index=True)
    actor: str
    action: str
    target: str | None = None


ISSUER_TABLES = [
    SQLModel.metadata.tables[t.__tablename__]
    for t in (
        AgencyRow,
        ClientRow,
        TokenRow,
        OfferRow,
        NonceRow,
        StatusListRow,
        CredentialRow,
        AuditRow,
    )
]


class IssuerStore:
    """Reads and writes through the session it is given; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- agencies and clients ---------------------------------------------------------

    def agency(self, slug: str) -> AgencyRow | None:
        return self.session.get(AgencyRow, slug)

    def agencies(self) -> list[AgencyRow]:
        return list(self.session.exec(select(AgencyRow).order_by(col(AgencyRow.slug))))

    def add(self, row: SQLModel) -> None:
        self.session.add(row)

    def client(self, client_id: str) -> ClientRow | None:
        return self.session.get(ClientRow, client_id)

    def lock_agency(self, slug: str) -> AgencyRow | None:
        """The agency row, locked until the transaction ends (serialises ledger writes)."""
        stmt = select(AgencyRow).where(AgencyRow.slug == slug).with_for_update()
        return self.session.exec(stmt).first()

    # --- tokens and nonces ------------------------------------------------------------

    def token(self, token_hash: str) -> TokenRow | None:
        return self.session.get(TokenRow, token_hash)

    def consume_nonce(self, nonce_hash: str, *, now: int) -> bool:
        """Delete a live nonce; True iff it existed and had not expired (single use)."""
        result = self.session.execute(
            delete(NonceRow).where(
                col(NonceRow.nonce_hash) == nonce_hash, col(NonceRow.expires_at) > now
            )
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def purge_expired(self, *, now: int) -> dict[str, int]:
        """Delete expired nonces and access tokens, and offers that expired unissued.

        An offer that was never issued (pending, redeemed, locked or expired)
        is dead once `expires_at` passed: it goes with its sealed claims and
        code. Issued offers stay (their credentials name them); their claim
        values were deleted at issuance. Returns the rows deleted per table.
        """

        def gone(result: Any) -> int:
            return int(getattr(result, "rowcount", 0) or 0)

        nonces = self.session.execute(delete(NonceRow).where(col(NonceRow.expires_at) <= now))
        tokens = self.session.execute(delete(TokenRow).where(col(TokenRow.expires_at) <= now))
        offers = self.session.execute(
            delete(OfferRow).where(col(OfferRow.expires_at) <= now, col(OfferRow.state) != "issued")
        )
        if gone(offers):
            scrub_after_commit(self.session)  # the sealed claims must not stay in the WAL
        return {"nonces": gone(nonces), "tokens": gone(tokens), "offers": gone(offers)}

    # --- offers -----------------------------------------------------------------------

    def offer(self, offer_id: str) -> OfferRow | None:
        return self.session.get(OfferRow, offer_id)

    def offer_by_code(self, code_hash: str) -> OfferRow | None:
        return self.session.exec(select(OfferRow).where(OfferRow.code_hash == code_hash)).first()

    def _transition(self, offer_id: str, current: str, **values: Any) -> bool:
        """Change the offer iff it is still in state `current`; True iff this call changed it."""
        result = self.session.execute(
            update(OfferRow)
            .where(col(OfferRow.id) == offer_id, col(OfferRow.state) == current)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def charge_tx_attempt(self, offer_id: str, *, limit: int) -> int | None:
        """Take one of the pending offer's `limit` transaction-code attempts, before comparing.

        Returns the attempts used so far, this one included, or None when the
        offer is no longer pending or has no attempt left: then the guess must
        not be compared at all.
        """
        result = self.session.execute(
            update(OfferRow)
            .where(
                col(OfferRow.id) == offer_id,
                col(OfferRow.state) == "pending",
                col(OfferRow.tx_attempts) < limit,
            )
            .values(tx_attempts=col(OfferRow.tx_attempts) + 1)  # counted in SQL
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        # This transaction holds the row (PostgreSQL) or the database (SQLite) now.
        stmt = select(OfferRow.tx_attempts).where(OfferRow.id == offer_id)
        return int(self.session.exec(stmt).one())

    def lock_offer(self, offer_id: str) -> bool:
        """Burn a pending offer (too many wrong transaction codes); its claims go too."""
        return self._transition(offer_id, "pending", state="locked", claims=None)

    def expire_offer(self, offer_id: str) -> bool:
        return self._transition(offer_id, "pending", state="expired", claims=None)

    def redeem_offer(self, offer_id: str, *, expires_at: int) -> bool:
        """pending -> redeemed, exactly once; the claims now live as long as the access token."""
        return self._transition(offer_id, "pending", state="redeemed", expires_at=expires_at)

    def take_offer_for_issuance(self, offer_id: str) -> bool:
        """redeemed -> issued, exactly once; the claim values are deleted in the same UPDATE.

        The caller has read the claims before; if its transaction rolls back,
        the offer is redeemed again and the claims are back.
        """
        return self._transition(offer_id, "redeemed", state="issued", claims=None)

    def renew_tx_code(self, offer_id: str, tx_code_hash: str) -> bool:
        """A new transaction code for a pending offer, with its attempts reset."""
        return self._transition(offer_id, "pending", tx_code_hash=tx_code_hash, tx_attempts=0)

    def offer_by_import_key(self, key: str) -> OfferRow | None:
        return self.session.exec(select(OfferRow).where(OfferRow.import_key == key)).first()

    # --- status lists and credentials -------------------------------------------------

    def open_status_list(self, agency: str, *, capacity: int) -> StatusListRow | None:
        stmt = (
            select(StatusListRow)
            .where(StatusListRow.agency == agency, col(StatusListRow.allocated) < capacity)
            .order_by(col(StatusListRow.id))
            .with_for_update()
        )
        return self.session.exec(stmt).first()

    def status_lists(self, agency: str | None = None) -> list[StatusListRow]:
        stmt = select(StatusListRow).order_by(col(StatusListRow.id))
        if agency is not None:
            stmt = stmt.where(StatusListRow.agency == agency)
        return list(self.session.exec(stmt))

    def status_list(self, list_id: int) -> StatusListRow | None:
        return self.session.get(StatusListRow, list_id)

    def status_list_for_update(self, list_id: int) -> StatusListRow | None:
        stmt = select(StatusListRow).where(StatusListRow.id == list_id).with_for_update()
        return self.session.exec(stmt).first()

    def slot_taken(self, list_id: int, idx: int) -> bool:
        stmt = select(CredentialRow.id).where(
            CredentialRow.list_id == list_id, CredentialRow.idx == idx
        )
        return self.session.exec(stmt).first() is not None

    def statuses(self, list_id: int) -> list[tuple[int, int]]:
        """(index, status) of every credential in the list whose status is not VALID."""
        stmt = select(CredentialRow.idx, CredentialRow.status).where(
            CredentialRow.list_id == list_id, col(CredentialRow.status) != 0
        )
        return [(int(i), int(s)) for i, s in self.session.exec(stmt)]

    def credential(self, credential_id: str) -> CredentialRow | None:
        return self.session.get(CredentialRow, credential_id)

    def batch(self, agency: str, batch_id: str) -> list[CredentialRow]:
        stmt = (
            select(CredentialRow)
            .where(CredentialRow.agency == agency, CredentialRow.batch_id == batch_id)
            .order_by(col(CredentialRow.id))
            .with_for_update()
        )
        return list(self.session.exec(stmt))

    def credentials(
        self,
        agency: str,
        *,
        offer_id: str | None = None,
        subject_hash: str | None = None,
        limit: int = 1000,
    ) -> list[CredentialRow]:
        stmt = select(CredentialRow).where(CredentialRow.agency == agency)
        if offer_id is not None:
            stmt = stmt.where(CredentialRow.offer_id == offer_id)
        if subject_hash is not None:
            stmt = stmt.where(CredentialRow.subject_hash == subject_hash)
        stmt = stmt.order_by(col(CredentialRow.issued_at), col(CredentialRow.id)).limit(limit)
        return list(self.session.exec(stmt))

    # --- audit ------------------------------------------------------------------------

    def audit(self, *, at: int, agency: str, actor: str, action: str, target: str | None) -> None:
        self.session.add(AuditRow(at=at, agency=agency, actor=actor, action=action, target=target))

    def audit_log(self, agency: str, *, limit: int = 100) -> Sequence[AuditRow]:
        stmt = (
            select(AuditRow)
            .where(AuditRow.agency == agency)
            .order_by(col(AuditRow.id).desc())
            .limit(limit)
        )
        return list(self.session.exec(stmt))

    def count_credentials(self, agency: str) -> int:
        stmt = select(func.count()).select_from(CredentialRow).where(CredentialRow.agency == agency)
        return int(self.session.exec(stmt).one())
