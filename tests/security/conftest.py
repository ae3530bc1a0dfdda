"""Fixtures of the security tests: the composed stack as real processes, on PostgreSQL in CI."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import pytest

from tests.conftest import _fresh_postgres_schema


def stack_database() -> Generator[str | None, None, None]:
    """A fresh PostgreSQL schema in CI (missing PostgreSQL fails there); SQLite elsewhere."""
    url = os.environ.get("GOVID_TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("GOVID_TEST_DATABASE_URL is not set in CI", pytrace=False)
        yield None
        return
    yield from _fresh_postgres_schema(url)


@pytest.fixture
def stack_database_url() -> Iterator[str | None]:
    yield from stack_database()
