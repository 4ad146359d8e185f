"""Accounts snapshot, meter replacement and ГИС ЖКХ identifiers (issue 12): accounts.els and
closed_at; meters.gis_meter_number, closed_at and replaced_by; snapshot_sources (the ETag of
BILLING_ACCOUNTS_URL). Plain added columns: SQLite adds them in place, no table rebuilt.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("accounts", sa.Column("els", sa.Text()))
    op.add_column("accounts", sa.Column("closed_at", sa.Text()))
    op.add_column("meters", sa.Column("gis_meter_number", sa.Text()))
    op.add_column("meters", sa.Column("closed_at", sa.Text()))
    op.add_column("meters", sa.Column("replaced_by", _ID))
    op.create_table(
        "snapshot_sources",
        sa.Column("url", sa.Text(), primary_key=True),
        sa.Column("etag", sa.Text()),
        sa.Column("fetched_at", sa.Text(), nullable=False),
    )
