"""Personal data at rest: private directories and files, SQLite that forgets, timed purges.

What each service calls where it creates its data directory or opens its
database (issue 13 item 9):

- `private_dir(path)`: the directory, created 0700; one we own that is
  wider is narrowed to 0700.
- `private_database(engine)`: for a SQLite file, the database file created
  (or narrowed to) 0600 before SQLite opens it, so that the `-wal` and
  `-shm` files SQLite makes next to it are 0600 too (SQLite gives them the
  database file's mode: `os_unix.c`, `findCreateFileMode`); and
  `PRAGMA secure_delete=ON` on every connection, so that a deleted or
  overwritten value is zeroed in its page rather than left in free space.
- `scrub_wal(engine)` / `scrub_after_commit(session)`: `PRAGMA
  wal_checkpoint(TRUNCATE)`. In WAL mode the old version of a page stays in
  the `-wal` file until a checkpoint; the checkpoint copies the newest
  (zeroed) pages into the database file and truncates the WAL to zero bytes.
- `purging(purge, every=...)`: run a purge in a worker thread on a timer
  while an app runs.

PostgreSQL is left alone: its files belong to the database server, whose
operator runs `VACUUM` and encrypts the volume (docs/privacy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

__all__ = [
    "private_database",
    "private_dir",
    "private_file",
    "purging",
    "scrub_after_commit",
    "scrub_wal",
]

log = logging.getLogger("govid.private_files")

# A checkpoint waits for readers of older snapshots; it must not hold up
# writers for the full 30 s busy timeout the services use. A busy checkpoint
# is retried by the next timed purge.
CHECKPOINT_BUSY_MS = 2000
_SIDE_FILES = ("-wal", "-shm", "-journal")
_SCRUB_FLAG = "govid_scrub_wal"


def _narrow(path: Path, mode: int) -> None:
    """Take group and other bits off `path` if we own it (another user's file is left)."""
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; narrow it to 0700 if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _narrow(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty as 0600 unless it exists; narrow it to 0600 if it does."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    _narrow(path, 0o600)
    return path


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI filename: not ours to interpret
        return None
    return Path(database)


def _secure_delete(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def private_database(engine: Engine) -> Engine:
    """Make a SQLite file database private and forgetful; return `engine` unchanged otherwise.

    Call it before the engine's first connection (connections already in the
    pool would miss `secure_delete`).
    """
    path = _sqlite_file(engine)
    if path is None:
        return engine
    private_file(path)
    for suffix in _SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            _narrow(side, 0o600)
    event.listen(engine, "connect", _secure_delete)
    return engine


def scrub_wal(engine: Engine) -> bool:
    """Checkpoint the WAL into the database file and truncate it; True when it completed.

    False when readers kept it busy (the next purge retries) and for databases
    that are not SQLite files (nothing to do).
    """
    if _sqlite_file(engine) is None:
        return False
    # The DBAPI connection itself: an engine-level "begin" hook (BEGIN
    # IMMEDIATE) must not wrap the checkpoint, which cannot run in a transaction.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            previous = int(cursor.execute("PRAGMA busy_timeout").fetchone()[0])
            cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
            try:
                busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                cursor.execute(f"PRAGMA busy_timeout={previous}")
        finally:
            cursor.close()
    except sqlite3.OperationalError:
        log.warning("WAL checkpoint failed; the next purge retries")
        return False
    finally:
        raw.close()  # back to the pool
    return bool(busy == 0)


def scrub_after_commit(session: Session) -> None:
    """Scrub the WAL once `session` commits (the caller owns the transaction).

    A failed scrub is logged, never raised: the commit has happened, and the
    timed purge retries the checkpoint.
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if _sqlite_file(engine) is None or session.info.get(_SCRUB_FLAG):
        return
    session.info[_SCRUB_FLAG] = True

    def _after_commit(committed: Session) -> None:
        committed.info.pop(_SCRUB_FLAG, None)
        scrub_wal(engine)

    event.listen(session, "after_commit", _after_commit, once=True)


@contextlib.asynccontextmanager
async def purging(purge: Callable[[], object], *, every: float) -> AsyncIterator[None]:
    """Run `purge` in a worker thread every `every` seconds until the block exits.

    A failing round is logged and the next one runs: personal data must not
    outlive a transient database error.
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(purge)
            except Exception:
                log.exception("purge of expired personal data failed; retrying next round")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
