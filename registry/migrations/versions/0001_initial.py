"""The registry's first schema: entries, tree nodes, checkpoints, derived state.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_entry",
        sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("op_hash", sa.String(), nullable=False),
        sa.Column("did", sa.String(), nullable=False),
        sa.Column("op_type", sa.String(), nullable=False),
        sa.Column("chain_key", sa.String(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("idx"),
        sa.UniqueConstraint("chain_key"),
    )
    op.create_index("ix_registry_entry_did", "registry_entry", ["did"])
    op.create_index("ix_registry_entry_op_hash", "registry_entry", ["op_hash"], unique=True)
    op.create_table(
        "registry_node",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "registry_log_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_time_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "registry_checkpoint",
        sa.Column("size", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosigned", sa.Text(), nullable=True),
        sa.Column("cosignatures", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "registry_did",
        sa.Column("did", sa.String(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("did"),
    )
    op.create_table(
        "registry_accreditation",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("accreditor", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_registry_accreditation_subject", "registry_accreditation", ["subject"])
    op.create_index(
        "ix_registry_accreditation_accreditor", "registry_accreditation", ["accreditor"]
    )
    op.create_table(
        "registry_status_list",
        sa.Column("uri", sa.String(), nullable=False),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("uri"),
    )
    op.create_index("ix_registry_status_list_issuer", "registry_status_list", ["issuer"])


def downgrade() -> None:
    for index, table in (
        ("ix_registry_status_list_issuer", "registry_status_list"),
        ("ix_registry_accreditation_accreditor", "registry_accreditation"),
        ("ix_registry_accreditation_subject", "registry_accreditation"),
        ("ix_registry_entry_op_hash", "registry_entry"),
        ("ix_registry_entry_did", "registry_entry"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "registry_status_list",
        "registry_accreditation",
        "registry_did",
        "registry_checkpoint",
        "registry_log_meta",
        "registry_node",
        "registry_entry",
    ):
        op.drop_table(table)
