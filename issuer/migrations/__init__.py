"""Alembic migrations of the issuer's tables, with their own version table.

The issuer shares a database with other services only through distinct table
names (`issuer_*`) and its own version table (`alembic_version_issuer`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from service.migrations import MigrationTree

TREE = MigrationTree(
    name="issuer",
    versions=Path(__file__).resolve().parent / "versions",
    models="issuer.store",
    table_prefix="issuer_",
)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the issuer's tables to `revision` (idempotent)."""
    TREE.upgrade(engine, revision)
