"""Every migration tree builds exactly what its models declare, on SQLite and PostgreSQL.

The drift check is Alembic's autogenerate comparison (`compare_metadata`)
after `upgrade head`: tables, columns, types, nullability, indexes, unique
constraints. A model changed without a revision (or a revision that builds
something else) fails here, not in production.
"""

from __future__ import annotations

import dataclasses
import importlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from service.migrations import MigrationTree

REPO = Path(__file__).resolve().parents[2]
_TREES = (
    "registry.migrations",
    "registry.witness.migrations",
    "issuer.migrations",
    "verifier.migrations",
    "holder_wallet.migrations",
)


def _tree(module: str) -> MigrationTree:
    tree: MigrationTree = importlib.import_module(module).TREE
    return tree


def test_every_versions_folder_is_a_tree_checked_here() -> None:
    packages = ("did", "service", "registry", "issuer", "verifier", "holder_wallet", "govid")
    folders = {p.parent for pkg in packages for p in (REPO / pkg).glob("**/versions/*.py")}
    assert folders == {_tree(m).versions for m in _TREES}
    assert len({_tree(m).version_table for m in _TREES}) == len(_TREES)


@pytest.mark.parametrize("module", _TREES)
def test_migrations_and_models_agree(
    module: str, database_url: str, engines: Callable[[str], Any]
) -> None:
    tree = _tree(module)
    engine = engines(database_url)
    tree.upgrade(engine)
    assert tree.metadata().tables, "the tree's models declare no table"
    assert tree.drift(engine) == []
    tree.upgrade(engine)  # idempotent
    assert tree.drift(engine) == []


@pytest.mark.parametrize("module", _TREES)
def test_a_database_behind_its_models_is_drift(
    module: str, database_url: str, engines: Callable[[str], Any]
) -> None:
    tree = _tree(module)
    engine = engines(database_url)
    tree.upgrade(engine)
    victim = sorted(tree.metadata().tables)[0]
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {victim}"))
    assert [d for d in tree.drift(engine) if d[0] == "add_table"], "a missing table went unseen"


def test_trees_share_a_database_without_seeing_each_other(
    database_url: str, engines: Callable[[str], Any]
) -> None:
    engine = engines(database_url)
    trees = [_tree(m) for m in _TREES]
    for tree in trees:
        tree.upgrade(engine)
    names = set(inspect(engine).get_table_names())
    for tree in trees:
        assert tree.version_table in names
        assert tree.drift(engine) == []


def test_a_new_revision_is_written_into_the_trees_own_folder(
    tmp_path: Path, engines: Callable[[str], Any]
) -> None:
    shipped = _tree("verifier.migrations")
    versions = tmp_path / "versions"
    shutil.copytree(shipped.versions, versions, ignore=shutil.ignore_patterns("__pycache__"))
    tree = dataclasses.replace(shipped, versions=versions)
    engine = engines(f"sqlite:///{tmp_path / 'db.sqlite'}")
    tree.upgrade(engine)
    before = set(versions.glob("*.py"))
    tree.write_revision(engine, "nothing changed")
    (new,) = set(versions.glob("*.py")) - before
    text = new.read_text(encoding="utf-8")
    head = max(path.name.split("_")[0] for path in before)  # 0001_..., 0002_...
    assert "nothing changed" in text and f"down_revision = '{head}'" in text
    tree.upgrade(engine)  # the empty revision applies
    assert tree.drift(engine) == []
