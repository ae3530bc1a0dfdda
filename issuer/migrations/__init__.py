"""Alembic migrations of the issuer's tables, with their own version table.

The issuer shares a database with other services only through distinct table
names (`issuer_*`) and its own version table (`alembic_version_issuer`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from registry.migrations import upgrade as _upgrade

VERSION_TABLE = "alembic_version_issuer"
LOCATION = Path(__file__).resolve().parent


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the issuer's tables to `revision` (idempotent)."""
    _upgrade(engine, revision, location=LOCATION, version_table=VERSION_TABLE)
