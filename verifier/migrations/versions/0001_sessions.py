"""The verifier's first schema: presentation sessions and OAuth access tokens.

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
        "verifier_session",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("template", sa.String(64), nullable=True),
        sa.Column("dcql_query", sa.Text(), nullable=False),
        sa.Column("request_jwt", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("completed_ms", sa.BigInteger(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("disclosed", sa.Text(), nullable=True),
        sa.Column("purge_after_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verifier_session_state", "verifier_session", ["state"], unique=True)
    op.create_table(
        "verifier_access_token",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("verifier_access_token")
    op.drop_index("ix_verifier_session_state", table_name="verifier_session")
    op.drop_table("verifier_session")
