"""Alembic migrations of the wallet's tables, with their own version table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from service.migrations import MigrationTree

TREE = MigrationTree(
    name="wallet",
    versions=Path(__file__).resolve().parent / "versions",
    models="holder_wallet.store",
    table_prefix="wallet_",
)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the wallet's tables to `revision` (idempotent)."""
    TREE.upgrade(engine, revision)
