"""The issuer's first schema: agencies, clients, tokens, offers, status lists, credentials, audit.

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
        "issuer_agency",
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("did", sa.String(), nullable=False),
        sa.Column("keyring", sa.LargeBinary(), nullable=False),
        sa.Column("subject_salt", sa.LargeBinary(), nullable=False),
        sa.Column("credential_types", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slug"),
        sa.UniqueConstraint("did"),
    )
    op.create_table(
        "issuer_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_issuer_audit_agency"), "issuer_audit", ["agency"], unique=False)
    op.create_table(
        "issuer_client",
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("scopes", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_index(op.f("ix_issuer_client_agency"), "issuer_client", ["agency"], unique=False)
    op.create_table(
        "issuer_credential",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("offer_id", sa.String(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=False),
        sa.Column("configuration_id", sa.String(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("subject_hash", sa.String(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_id", "idx", name="uq_issuer_credential_slot"),
    )
    op.create_index(
        op.f("ix_issuer_credential_agency"), "issuer_credential", ["agency"], unique=False
    )
    op.create_index(
        op.f("ix_issuer_credential_batch_id"), "issuer_credential", ["batch_id"], unique=False
    )
    op.create_index(
        op.f("ix_issuer_credential_offer_id"), "issuer_credential", ["offer_id"], unique=False
    )
    op.create_index(
        op.f("ix_issuer_credential_subject_hash"),
        "issuer_credential",
        ["subject_hash"],
        unique=False,
    )
    op.create_table(
        "issuer_nonce",
        sa.Column("nonce_hash", sa.String(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash"),
    )
    op.create_table(
        "issuer_offer",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("configuration_id", sa.String(), nullable=False),
        sa.Column("claims", sa.LargeBinary(), nullable=True),
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("code_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("tx_code_hash", sa.String(), nullable=True),
        sa.Column("tx_attempts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("subject_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("import_key", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("import_key"),
    )
    op.create_index(op.f("ix_issuer_offer_agency"), "issuer_offer", ["agency"], unique=False)
    op.create_index(
        op.f("ix_issuer_offer_subject_hash"), "issuer_offer", ["subject_hash"], unique=False
    )
    op.create_table(
        "issuer_status_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("uri", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("token_iat", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    op.create_index(
        op.f("ix_issuer_status_list_agency"), "issuer_status_list", ["agency"], unique=False
    )
    op.create_table(
        "issuer_token",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("offer_id", sa.String(), nullable=True),
        sa.Column("scopes", sa.String(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_issuer_token_agency"), "issuer_token", ["agency"], unique=False)


def downgrade() -> None:
    op.drop_table("issuer_token")
    op.drop_table("issuer_status_list")
    op.drop_table("issuer_offer")
    op.drop_table("issuer_nonce")
    op.drop_table("issuer_credential")
    op.drop_table("issuer_client")
    op.drop_table("issuer_audit")
    op.drop_table("issuer_agency")
