"""Alembic migrations of the registry's tables (version table `alembic_version_registry`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from service.migrations import MigrationTree

TREE = MigrationTree(
    name="registry",
    versions=Path(__file__).resolve().parent / "versions",
    models="registry.store",
    table_prefix="registry_",
)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the registry's tables to `revision` (idempotent)."""
    TREE.upgrade(engine, revision)
