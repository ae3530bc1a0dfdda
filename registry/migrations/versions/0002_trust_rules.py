"""Trust rules of issue 13: lists named by (issuer, uri); grants remember their key.

- `registry_status_list` is keyed by (issuer, uri) instead of uri alone, so
  that no issuer can take or pre-empt another's list (method spec §5.7).
  Every existing row keeps its issuer, so the copy is exact.
- Each accreditation's derived state gains `grantedBy` (the `#fragment` of
  the grant's `kid`) and `grantedAt` (the grant's log time, ms), read back
  from the granting entry, so that a grant signed with a key later marked
  compromised stops counting (§5.5.3).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from did.jose import parse_unverified_jws
from registry.entry import LogEntry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_status_list_v2",
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("uri", sa.String(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "uri"),
    )
    op.execute(
        "INSERT INTO registry_status_list_v2 (issuer, uri, sequence, idx, token) "
        "SELECT issuer, uri, sequence, idx, token FROM registry_status_list"
    )
    op.drop_index("ix_registry_status_list_issuer", table_name="registry_status_list")
    op.drop_table("registry_status_list")
    op.rename_table("registry_status_list_v2", "registry_status_list")

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, data FROM registry_accreditation")).fetchall()
    for acc_id, data in rows:
        acc = json.loads(data)
        if "grantedBy" in acc:
            continue
        entry_bytes = bind.execute(
            sa.text("SELECT data FROM registry_entry WHERE idx = :i"), {"i": acc["grantedIndex"]}
        ).scalar_one()
        entry = LogEntry.parse(bytes(entry_bytes))
        kid = parse_unverified_jws(entry.operation).header.get("kid")
        acc["grantedBy"] = "#" + str(kid).partition("#")[2]
        acc["grantedAt"] = entry.time_ms
        bind.execute(
            sa.text("UPDATE registry_accreditation SET data = :d WHERE id = :i"),
            {"d": json.dumps(acc), "i": acc_id},
        )


def downgrade() -> None:
    # Lists of two issuers under one uri cannot go back to a uri key: refuse
    # rather than drop one of them.
    op.create_table(
        "registry_status_list_v1",
        sa.Column("uri", sa.String(), nullable=False),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("uri"),
    )
    op.execute(
        "INSERT INTO registry_status_list_v1 (uri, issuer, sequence, idx, token) "
        "SELECT uri, issuer, sequence, idx, token FROM registry_status_list"
    )
    op.drop_table("registry_status_list")
    op.rename_table("registry_status_list_v1", "registry_status_list")
    op.create_index("ix_registry_status_list_issuer", "registry_status_list", ["issuer"])
