"""Appeals (SPEC §11): the appeals and their messages both ways.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _partial(condition: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger()),
        sa.Column("account_id", _ID, sa.ForeignKey("accounts.id", ondelete="SET NULL")),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text()),
        sa.Column("locale", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'open'")),
        sa.Column("thread_id", sa.BigInteger(), unique=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("waiting_since", sa.Text()),
        sa.Column("sla_alerted_at", sa.Text()),
        sa.Column("answered_at", sa.Text()),
        sa.Column("closed_at", sa.Text()),
        sa.Column("rating", sa.Integer()),
        sa.CheckConstraint("topic IN ('meter', 'previous', 'verification', 'bill', 'other')"),
        sa.CheckConstraint("status IN ('open', 'closed')"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5"),
    )
    op.create_index("appeals_chat", "appeals", ["chat_id"], **_partial("chat_id IS NOT NULL"))
    op.create_index("appeals_open", "appeals", ["created_at"], **_partial("status = 'open'"))
    op.create_table(
        "appeal_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "appeal_id", _ID, sa.ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("body", sa.Text()),
        sa.Column("source_id", sa.BigInteger()),
        sa.Column("copy_id", sa.BigInteger()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.Text()),
        sa.CheckConstraint("author IN ('resident', 'operator')"),
        sa.CheckConstraint("kind IN ('text', 'photo', 'document', 'media')"),
    )
    op.create_index("appeal_messages_appeal", "appeal_messages", ["appeal_id", "id"])
    op.create_index(
        "appeal_messages_undelivered",
        "appeal_messages",
        ["appeal_id"],
        **_partial("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("appeal_messages")
    op.drop_table("appeals")
