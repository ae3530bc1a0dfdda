"""Alembic migrations of the registry's tables.

The registry keeps its own version table (`alembic_version_registry`), so the
services can share one database without their migrations colliding.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

VERSION_TABLE = "alembic_version_registry"
_HERE = Path(__file__).resolve().parent
# Alembic keeps its running context in module globals: two services migrating
# at once in one process (`govid up`) must take turns.
_LOCK = threading.Lock()


def alembic_config(
    engine: Engine, *, location: Path = _HERE, version_table: str = VERSION_TABLE
) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    cfg.attributes["version_table"] = version_table
    return cfg


def upgrade(
    engine: Engine,
    revision: str = "head",
    *,
    location: Path = _HERE,
    version_table: str = VERSION_TABLE,
) -> None:
    """Bring a service's tables to `revision` (idempotent). Defaults: the registry's."""
    with _LOCK:
        command.upgrade(
            alembic_config(engine, location=location, version_table=version_table), revision
        )
