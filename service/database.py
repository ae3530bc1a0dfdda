"""The database engine every service opens: durable settings for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

__all__ = ["make_engine"]


def make_engine(url: str) -> Engine:
    """An engine with durable settings: SQLite in WAL mode with full fsync on commit.

    A `postgresql://` URL is given the psycopg 3 driver; PostgreSQL connections
    are checked before use, so a restarted server costs one retry, not errors.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before it returns, so an acknowledged
            # append survives kill -9 and power loss alike.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
