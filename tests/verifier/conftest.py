"""Fixtures of the verifier tests: one real ledger per worker, holders, a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.verifier.world import World, running_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("world")) as built:
        yield built
