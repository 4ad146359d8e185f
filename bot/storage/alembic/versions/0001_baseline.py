"""The baseline: the schema the numbered SQLite scripts (bot/storage/sqlite_history) left at
their number 8, without the phone trigger (the rule is in Python since).

A database reaches this revision in one of two ways, never by running it: created from
bot/storage/schema.py and stamped (any new database), or a SQLite file of the older versions
finished by `migrate` and stamped. Every later revision changes a database that exists, with
`op` calls, and schema.py changes with it (tests/unit/test_schema.py holds them equal).

Revision ID: 0001
Revises:
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("revision 0001 is stamped, never run: see bot/storage/schema_version.py")
