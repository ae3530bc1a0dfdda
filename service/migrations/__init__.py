"""Alembic migrations for every service: one environment, one runner, one tree per service.

Each service keeps its revisions in its own `migrations/versions/` folder and
its own version table (`alembic_version_<name>`), so several services can
share one database without their histories colliding; their tables are told
apart by a prefix (`registry_`, `witness_`, `issuer_`, `verifier_`,
`wallet_`). What the trees share lives here: the Alembic environment
(`env.py`, the `script_location` of every tree), the revision template, and
`MigrationTree`, which upgrades a database and compares it with the models.

A new revision for a tree, from its models (autogenerate reads the same
environment):

    tree.write_revision(engine, "what changed")
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

__all__ = ["ENVIRONMENT", "MigrationTree"]

ENVIRONMENT = Path(__file__).resolve().parent
# Alembic keeps its running context in module globals: two services migrating
# at once in one process (`govid up`) must take turns.
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class MigrationTree:
    """One service's revisions, its version table and the models they must build.

    `models` is the module whose SQLModel tables the revisions create (imported
    on demand, so that naming a tree costs nothing); `table_prefix` picks this
    tree's tables out of the shared metadata and out of a shared database.
    """

    name: str
    versions: Path
    models: str
    table_prefix: str

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"

    def owns(self, table_name: str | None) -> bool:
        return table_name is not None and table_name.startswith(self.table_prefix)

    def metadata(self) -> MetaData:
        """A copy of this tree's tables, and of nothing else, as its models declare them."""
        importlib.import_module(self.models)
        metadata = MetaData()
        for name, table in SQLModel.metadata.tables.items():
            if self.owns(name):
                table.to_metadata(metadata)
        return metadata

    def include_object(
        self, obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        """Alembic's filter: this tree's tables and what hangs off them, never its neighbours'."""
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return self.owns(table)

    def config(self, engine: Engine) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(ENVIRONMENT))
        # One folder, split on the OS path separator (never on spaces in a path).
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", str(self.versions))
        cfg.attributes["engine"] = engine
        cfg.attributes["tree"] = self
        return cfg

    def upgrade(self, engine: Engine, revision: str = "head") -> None:
        """Bring this tree's tables to `revision` (idempotent)."""
        with _LOCK:
            command.upgrade(self.config(engine), revision)

    def drift(self, engine: Engine) -> Sequence[Any]:
        """What separates the database from the models (Alembic's autogenerate diff).

        Empty when the migrations build exactly what the models declare:
        tables, columns, types, nullability, indexes and unique constraints.
        """
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_object": self.include_object,
                    "version_table": self.version_table,
                },
            )
            diff: list[Any] = compare_metadata(context, self.metadata())
        return diff

    def write_revision(self, engine: Engine, message: str) -> None:
        """Write a new revision file from the difference between models and database."""
        with _LOCK:
            command.revision(self.config(engine), message=message, autogenerate=True)
