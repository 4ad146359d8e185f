"""The outbox of readings for the billing system (SPEC §10), and the mark a 410 Gone leaves.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PENDING = sa.text("status = 'pending'")


def _partial(name: str, columns: list[str], condition: sa.TextClause) -> None:
    op.create_index(name, "outbox", columns, sqlite_where=condition, postgresql_where=condition)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column(
            "reading_id", Id, sa.ForeignKey("readings.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("meter_id", Id, sa.ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("next_at", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("failing_since", sa.Text),
        sa.Column("claim", sa.Text),
        sa.Column("claimed_until", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("settled_at", sa.Text),
        sa.CheckConstraint("type IN ('reading.accepted', 'reading.replaced')"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'refused', 'dead')"),
    )
    _partial("outbox_pending", ["meter_id", "id"], PENDING)
    _partial("outbox_due", ["next_at"], PENDING)
    _partial("outbox_dead", ["id"], sa.text("status = 'dead'"))
    op.create_table(
        "outbox_gone",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1"),
    )
