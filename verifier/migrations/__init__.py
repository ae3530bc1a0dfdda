"""Alembic migrations of the verifier's tables (version table `alembic_version_verifier`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from registry.migrations import upgrade as _upgrade

VERSION_TABLE = "alembic_version_verifier"
_HERE = Path(__file__).resolve().parent


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the verifier's tables to `revision` (idempotent)."""
    _upgrade(engine, revision, location=_HERE, version_table=VERSION_TABLE)
