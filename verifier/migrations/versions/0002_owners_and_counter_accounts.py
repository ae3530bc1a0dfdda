"""Owners for every session, one-time request references, counter accounts and sign-ins.

Owners become "client:<id>" or "user:<name>" (`verifier.owners`): existing
API sessions keep their client; sessions the counter page created without an
owner stay unreadable (they were open to anyone, govid issue 13 item 1).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verifier_session") as batch:
        batch.alter_column(
            "owner", existing_type=sa.String(128), type_=sa.String(160), existing_nullable=True
        )
        batch.add_column(sa.Column("request_handle", sa.String(64), nullable=True))
        batch.add_column(sa.Column("request_fetched_ms", sa.BigInteger(), nullable=True))
        batch.create_index("ix_verifier_session_request_handle", ["request_handle"], unique=True)
    op.execute("UPDATE verifier_session SET owner = 'client:' || owner WHERE owner IS NOT NULL")
    op.create_table(
        "verifier_counter_user",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "verifier_counter_login",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_verifier_counter_login_username", "verifier_counter_login", ["username"])


def downgrade() -> None:
    op.drop_index("ix_verifier_counter_login_username", table_name="verifier_counter_login")
    op.drop_table("verifier_counter_login")
    op.drop_table("verifier_counter_user")
    op.execute("UPDATE verifier_session SET owner = substr(owner, 8) WHERE owner LIKE 'client:%'")
    op.execute("UPDATE verifier_session SET owner = NULL WHERE owner LIKE 'user:%'")
    with op.batch_alter_table("verifier_session") as batch:
        batch.drop_index("ix_verifier_session_request_handle")
        batch.drop_column("request_fetched_ms")
        batch.drop_column("request_handle")
        batch.alter_column(
            "owner", existing_type=sa.String(160), type_=sa.String(128), existing_nullable=True
        )
