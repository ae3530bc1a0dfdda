"""The Alembic environment of every migration tree (see `service.migrations`).

It runs against the engine and the `MigrationTree` handed over in
`config.attributes`: the tree's own version table, its models as the target
of autogenerate, and a filter that keeps other services' tables out of view.
SQLite gets batch mode, since it alters tables by copying them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from service.migrations import MigrationTree

engine: Engine = context.config.attributes["engine"]
tree: MigrationTree = context.config.attributes["tree"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=tree.metadata(),
        include_object=tree.include_object,
        version_table=tree.version_table,
        compare_type=True,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
