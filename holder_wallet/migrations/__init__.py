"""Alembic migrations of the wallet's tables, with their own version table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from registry.migrations import upgrade as _upgrade

VERSION_TABLE = "alembic_version_wallet"
LOCATION = Path(__file__).resolve().parent


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the wallet's tables to `revision` (idempotent)."""
    _upgrade(engine, revision, location=LOCATION, version_table=VERSION_TABLE)
