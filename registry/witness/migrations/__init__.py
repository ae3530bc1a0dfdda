"""Alembic migrations of the witness's one table (version table `alembic_version_witness`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from registry.migrations import upgrade as _upgrade

VERSION_TABLE = "alembic_version_witness"


def upgrade(engine: Engine) -> None:
    _upgrade(engine, location=Path(__file__).resolve().parent, version_table=VERSION_TABLE)
