"""Alembic migrations of the witness's one table (version table `alembic_version_witness`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from service.migrations import MigrationTree

TREE = MigrationTree(
    name="witness",
    versions=Path(__file__).resolve().parent / "versions",
    models="registry.witness.store",
    table_prefix="witness_",
)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the witness's table to `revision` (idempotent)."""
    TREE.upgrade(engine, revision)
