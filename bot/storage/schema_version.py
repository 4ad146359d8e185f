"""Where a database's schema stands, and bringing it to this version's (SPEC §3 `migrate`).

- A new, empty database is created from bot/storage/schema.py by any command, and stamped
  with the newest Alembic revision (Alembic's "create, then stamp" recipe: a new database
  never runs the revisions one by one).
- An existing one at an older revision is changed only by `python -m bot migrate` (Alembic's
  revisions in bot/storage/alembic/); every other command refuses it with one line.
- A SQLite file of the versions before Alembic (numbered scripts, `PRAGMA user_version`,
  bot/storage/sqlite_history/) counts as older: `migrate` finishes its scripts, drops the
  phone trigger (the rule is in Python now: bot/storage/imports.py) and stamps revision 0001.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bot.storage.db import Database
from bot.storage.dialect import Engine
from bot.storage.sqlite import SqliteDatabase

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

# The newest revision in bot/storage/alembic/versions (a test holds the two equal), so that
# checking a database at start does not import Alembic.
HEAD = "0004"


class SchemaOutdated(Exception):
    """The database is older than this version of the bot (or newer, or not its own); the
    message says what to do."""


@cache
def creation_ddl(engine: Engine) -> tuple[str, ...]:
    """The statements that create the schema on an empty database, in order: the tables and
    indexes of schema.py as compiled for the engine (bot/storage/ddl/<engine>.sql, written by
    `make schema`), then the rows a new database starts with."""
    text = resources.files("bot.storage.ddl").joinpath(f"{engine}.sql").read_text("utf-8")
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    statements = [statement.strip() for statement in sql.split(";\n") if statement.strip()]
    statements += [
        "INSERT INTO otp_gate (id, reservations) VALUES (1, 0)",
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD}')",
    ]
    return tuple(statements)


async def revision(db: Database) -> str | None:
    """The database's revision: None when it is empty, `legacy-N` for a SQLite file of the
    numbered scripts."""
    if db.dialect.postgres:
        found = await db.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        tables = await db.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    else:
        found = await db.fetchval(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        )
        tables = await db.fetchval("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
    if found:
        return str(await db.fetchval("SELECT version_num FROM alembic_version"))
    if not tables:
        return None
    if not db.dialect.postgres:
        return f"legacy-{await db.fetchval('PRAGMA user_version')}"
    raise SchemaOutdated("the database holds tables but no schema revision: is it the bot's?")


def unknown_revision(current: str) -> str | None:
    """Why a database at ``current`` is not one this version can use or migrate: a revision
    past HEAD (a newer version of the bot wrote it) or one it never had."""
    if current.startswith("legacy-") or (current.isdigit() and current <= HEAD):
        return None
    if current.isdigit() and len(current) == len(HEAD):
        return (
            f"the database schema ({current}) is newer than this version knows ({HEAD}):"
            " run the version of the bot that wrote it, or restore a backup made before"
            " that upgrade"
        )
    return f"the database schema revision {current!r} is not one of the bot's: is it its database?"


async def create(db: Database) -> None:
    async with db.transaction() as tx:
        for statement in creation_ddl(db.dialect.name):
            await tx.execute(statement)


async def prepare(db: Database) -> None:
    """Create an empty database; refuse one at an older revision (see the module's notes)."""
    current = await revision(db)
    if current is None:
        log.info("creating the database schema (revision %s)", HEAD)
        await create(db)
    elif (problem := unknown_revision(current)) is not None:
        raise SchemaOutdated(problem)
    elif current != HEAD:
        raise SchemaOutdated(
            f"the database schema is older ({current}) than this version needs ({HEAD}):"
            " back it up, then run `python -m bot migrate`"
        )


async def migrate(db: Database) -> tuple[str | None, str]:
    """Bring the database to HEAD; returns (revision before, revision after)."""
    before = await revision(db)
    if before is None:
        await create(db)
        return None, HEAD
    if before.startswith("legacy-"):
        await _finish_legacy(db, int(before.removeprefix("legacy-")))
    if await revision(db) != HEAD:
        await asyncio.to_thread(_alembic_upgrade, db.url)
    return before, HEAD


def legacy_scripts() -> list[tuple[int, str]]:
    """(number, SQL) of the numbered SQLite scripts of the versions before Alembic."""
    found = []
    for entry in resources.files("bot.storage.sqlite_history").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def _finish_legacy(db: Database, version: int) -> None:
    """The rest of the numbered scripts, then the step into Alembic: revision 0001."""
    script = "".join(
        f"{sql}\nPRAGMA user_version = {number};\n"
        for number, sql in legacy_scripts()
        if number > version
    )
    script += (
        "DROP TRIGGER IF EXISTS accounts_phone_changed;\n"
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);\n"
        "INSERT INTO alembic_version (version_num) VALUES ('0001');\n"
    )
    assert isinstance(db, SqliteDatabase), "only SQLite files predate Alembic"
    await db.run_script(script)


def upgrade_plan(before: str | None) -> list[str]:
    """What `migrate` does to a database at ``before``, one line a step, oldest first."""
    if before is None:
        return [f"create the schema at revision {HEAD} (a new database)"]
    from alembic.script import ScriptDirectory

    steps = []
    if before.startswith("legacy-"):
        steps.append(f"{before} -> 0001: the rest of the numbered SQLite scripts, the baseline")
        before = "0001"
    scripts = ScriptDirectory.from_config(_alembic_config())
    for script in reversed(list(scripts.iterate_revisions("heads", before))):
        summary = (script.doc or "").strip().splitlines()[0] if script.doc else ""
        steps.append(f"{script.down_revision} -> {script.revision}: {summary}")
    return steps


def _alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("alembic")))
    if url is not None:
        config.attributes["database_url"] = url
    return config


def _alembic_upgrade(url: str) -> None:
    from alembic import command

    command.upgrade(_alembic_config(url), "head")
