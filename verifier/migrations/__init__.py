"""Alembic migrations of the verifier's tables (version table `alembic_version_verifier`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from service.migrations import MigrationTree

TREE = MigrationTree(
    name="verifier",
    versions=Path(__file__).resolve().parent / "versions",
    models="verifier.store",
    table_prefix="verifier_",
)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the verifier's tables to `revision` (idempotent)."""
    TREE.upgrade(engine, revision)
