"""The witness's state in SQL: one row per log, advanced by compare-and-swap."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, LargeBinary, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel


class WitnessStateRow(SQLModel, table=True):
    __tablename__ = "witness_state"

    origin: str = Field(primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


def load_state(session: Session, origin: str) -> tuple[int, bytes] | None:
    row = session.get(WitnessStateRow, origin)
    return (row.size, row.root) if row is not None else None


def advance_state(
    session: Session, origin: str, *, old_size: int, new_size: int, new_root: bytes
) -> bool:
    """Move the state from `old_size` to (new_size, new_root) atomically; commits.

    Returns False if another request moved it first: the caller answers 409,
    so two concurrent requests can never both be cosigned from one old size.
    """
    try:
        if old_size == 0 and session.get(WitnessStateRow, origin) is None:
            session.add(WitnessStateRow(origin=origin, size=new_size, root=new_root))
            session.commit()
            return True
        result = session.execute(
            update(WitnessStateRow)
            .where(WitnessStateRow.origin == origin, WitnessStateRow.size == old_size)  # type: ignore[arg-type]
            .values(size=new_size, root=new_root)
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
