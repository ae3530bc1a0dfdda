"""Fixtures shared by the whole suite: specification vectors and databases."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
VECTORS = Path(os.environ.get("GOVID_VECTORS", REPO.parent / "shared" / "vectors"))


def vector_path(name: str) -> Path:
    """The path of a specification vector; a missing file fails the test, never skips it."""
    path = VECTORS / name
    if not path.is_file():
        pytest.fail(f"specification vector missing: {path}", pytrace=False)
    return path


@pytest.fixture
def vector() -> Callable[[str], Any]:
    """Load a JSON specification vector by path relative to ../shared/vectors."""

    def _load(name: str) -> Any:
        return json.loads(vector_path(name).read_text(encoding="utf-8"))

    return _load


@pytest.fixture
def vector_text() -> Callable[[str], str]:
    """Load a text specification vector by path relative to ../shared/vectors."""

    def _load(name: str) -> str:
        return vector_path(name).read_text(encoding="utf-8")

    return _load


def database_urls() -> list[str]:
    """SQLite always; PostgreSQL too when GOVID_TEST_DATABASE_URL is set (always in CI)."""
    urls = ["sqlite:///{tmp}/govid.db"]
    if pg := os.environ.get("GOVID_TEST_DATABASE_URL"):
        urls.append(pg)
    return urls


@pytest.fixture(params=database_urls(), ids=lambda u: u.split(":", 1)[0].split("+", 1)[0])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL, fresh for the test: a new SQLite file, or a new PostgreSQL schema."""
    url: str = request.param
    if url.startswith("sqlite"):
        yield url.format(tmp=tmp_path)
        return
    yield from _fresh_postgres_schema(url)


def _fresh_postgres_schema(url: str) -> Iterator[str]:
    # Each test gets its own schema so tests never see each other's rows, even
    # when pytest-xdist runs them side by side on one database.
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(_pg_driver(url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{_pg_driver(url)}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _pg_driver(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@pytest.fixture
def engines() -> Iterator[Callable[[str], Any]]:
    """Make engines with `service.database.make_engine`; all are disposed after the test.

    Disposing closes pooled connections: PostgreSQL ones left to the garbage
    collector would warn (and the suite turns warnings into errors).
    """
    from service.database import make_engine

    made: list[Any] = []

    def _make(url: str) -> Any:
        engine = make_engine(url)
        made.append(engine)
        return engine

    yield _make
    for engine in made:
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema URL; without GOVID_TEST_DATABASE_URL the test fails."""
    url = os.environ.get("GOVID_TEST_DATABASE_URL")
    if not url:
        # Never a silent skip: `make test` and `.ci/run` set it (the machine's PostgreSQL).
        pytest.fail(
            "GOVID_TEST_DATABASE_URL is not set: these tests need PostgreSQL", pytrace=False
        )
    yield from _fresh_postgres_schema(url)
