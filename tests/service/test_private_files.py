"""`service.private_files`: private modes, SQLite that zeroes and checkpoints, timed purges."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlmodel import Session

from service.database import make_engine
from service.private_files import (
    private_database,
    private_dir,
    private_file,
    purging,
    scrub_after_commit,
    scrub_wal,
)

SECRET = b"SECRET-personal-value"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_directories_are_created_0700_and_wider_ones_narrowed(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "a" / "b")
    assert _mode(made) == 0o700
    wide = tmp_path / "wide"
    wide.mkdir(mode=0o755)
    os.chmod(wide, 0o755)
    private_dir(wide)
    assert _mode(wide) == 0o700


def test_files_are_created_0600_and_wider_ones_narrowed(tmp_path: Path) -> None:
    assert _mode(private_file(tmp_path / "new")) == 0o600
    old = tmp_path / "old"
    old.write_text("kept")
    os.chmod(old, 0o644)
    private_file(old)
    assert _mode(old) == 0o600 and old.read_text() == "kept"


def test_sqlite_files_and_their_wal_and_shm_are_0600(tmp_path: Path) -> None:
    engine = private_database(make_engine(f"sqlite:///{tmp_path / 'data.db'}"))
    assert _mode(tmp_path / "data.db") == 0o600  # before SQLite ever opened it
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v TEXT)"))
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == {
        "data.db": 0o600,
        "data.db-wal": 0o600,
        "data.db-shm": 0o600,
    }
    engine.dispose()

    # A database an older version left readable is narrowed, WAL and all.
    for path in tmp_path.iterdir():
        os.chmod(path, 0o644)
    private_database(make_engine(f"sqlite:///{tmp_path / 'data.db'}")).dispose()
    assert {_mode(p) for p in tmp_path.iterdir()} == {0o600}


def test_secure_delete_is_on_even_where_sqlite_is_built_without_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data.db'}")

    # Debian builds SQLite with SECURE_DELETE; python.org's and others do not.
    @event.listens_for(engine, "connect")
    def _a_build_without_it(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.execute("PRAGMA secure_delete=OFF")

    private_database(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    engine.dispose()


def _files(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.iterdir())


def test_forgotten_values_leave_the_database_file_and_the_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data.db'}")

    @event.listens_for(engine, "connect")
    def _a_build_without_it(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.execute("PRAGMA secure_delete=OFF")

    private_database(engine)
    with Session(engine) as session:
        session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"))
        # A small value inside its page and a large one on overflow pages.
        for i, size in ((1, 0), (2, 20_000)):
            value = SECRET + b"x" * size
            session.execute(text("INSERT INTO t VALUES (:i, :v)").bindparams(i=i, v=value))
        session.commit()
    # SQLite's own checkpoint (every 1000 pages) puts the values in the database file.
    with sqlite3.connect(tmp_path / "data.db") as raw:
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)")
    assert _files(tmp_path).count(SECRET) >= 2

    with Session(engine) as session:
        session.execute(text("UPDATE t SET v = NULL"))
        scrub_after_commit(session)
        session.commit()
    assert SECRET not in _files(tmp_path)
    assert (tmp_path / "data.db-wal").stat().st_size == 0
    engine.dispose()


def test_scrub_wal_truncates_the_wal(tmp_path: Path) -> None:
    engine = private_database(make_engine(f"sqlite:///{tmp_path / 'data.db'}"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v TEXT)"))
    assert (tmp_path / "data.db-wal").stat().st_size > 0
    assert scrub_wal(engine) is True
    assert (tmp_path / "data.db-wal").stat().st_size == 0
    engine.dispose()


def test_postgresql_is_left_to_its_server(database_url: str) -> None:
    engine = private_database(make_engine(database_url))
    assert scrub_wal(engine) is (engine.dialect.name == "sqlite")
    with Session(engine) as session:
        scrub_after_commit(session)
        session.commit()
    engine.dispose()


def test_purging_runs_on_a_timer_and_outlives_a_failing_round() -> None:
    calls: list[int] = []

    def purge() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a transient database error")

    async def run() -> None:
        async with purging(purge, every=0.01):
            while len(calls) < 3:
                await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(run(), timeout=30))
    assert len(calls) >= 3
