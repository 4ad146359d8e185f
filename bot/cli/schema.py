"""The database itself: `migrate`, `copy-db` (no BOT_TOKEN needed)."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from bot.cli.common import database, offline, refuse
from bot.cli.group import cli
from bot.config import Settings

BACKUP_REMINDER = (
    "back the database up first: `python -m bot backup FILE` (SQLite, while the bot runs)"
    " or pg_dump (PostgreSQL); docs/operations.md"
)


@cli.command()
@click.option("--plan", "plan_only", is_flag=True, help="Print the plan and change nothing.")
def migrate(plan_only: bool) -> None:
    """Bring the database schema up to this version's (the only command that changes an
    existing schema; `run` refuses an older one). Prints its plan first: the revisions from
    the database's to this version's. Back the database up first."""
    from bot.startup import database_errors, database_problem, where
    from bot.storage.engines import connect
    from bot.storage.schema_version import HEAD, revision, unknown_revision, upgrade_plan
    from bot.storage.schema_version import migrate as bring_up_to_date

    async def main(settings: Settings) -> None:
        try:
            db = await connect(settings.database_url)
        except database_errors() as exc:
            refuse(database_problem(settings.database_url, exc))
        try:
            before = await revision(db)
            if before == HEAD:
                click.echo(f"the database schema is up to date (revision {HEAD})")
                return
            if before is not None and (problem := unknown_revision(before)) is not None:
                refuse(problem)
            click.echo(f"plan for {where(settings.database_url)}: {before or 'empty'} -> {HEAD}")
            for step in upgrade_plan(before):
                click.echo(f"  {step}")
            if before is not None:
                click.echo(BACKUP_REMINDER, err=True)
            if plan_only:
                return
            await bring_up_to_date(db)
            click.echo(f"the database schema is now at revision {HEAD}")
        finally:
            await db.close()

    asyncio.run(main(offline(database_must_exist=plan_only)))


@cli.command("copy-db")
@click.option("--to", "url", required=True, metavar="URL", help="sqlite:///… or postgresql://…")
def copy_db(url: str) -> None:
    """Copy every table of DATABASE_URL into the new, empty database at URL, then compare
    both: row counts and checksums per table. Stop the bot first; exit 0 only when all match."""
    from bot.startup import database_errors, database_problem, where
    from bot.storage.copy import CopyRefused, copy_database, format_checks
    from bot.storage.engines import is_postgres, open_database, sqlite_path
    from bot.storage.instance_lock import InstanceLockHeld, hold_instance_locks

    if not ((url.startswith("sqlite:///") and url != "sqlite:///") or is_postgres(url)):
        raise click.BadParameter("expected sqlite:///path or postgresql://…", param_hint="--to")
    settings = offline(database_must_exist=True)
    files = [sqlite_path(u).resolve() for u in (settings.database_url, url) if not is_postgres(u)]
    if url == settings.database_url or (len(files) == 2 and files[0] == files[1]):
        refuse("--to names the configured database itself")

    def progress(table: str, done: int, total: int) -> None:  # big tables only
        click.echo(f"\r{table}: {done:,} / {total:,} rows", err=True, nl=done >= total)

    async def main() -> Any:
        async with database(settings) as source:
            try:
                target = await open_database(url)
            except database_errors() as exc:
                refuse(database_problem(url, exc, setting="--to"))
            try:
                return await copy_database(source, target, progress)
            except CopyRefused as exc:
                refuse(str(exc))
            finally:
                await target.close()

    try:
        with hold_instance_locks(files):  # no bot writes to either file meanwhile
            checks = asyncio.run(main())
    except InstanceLockHeld as exc:
        refuse(str(exc))
    click.echo(format_checks(checks))
    if differing := [check.table for check in checks if not check.matches]:
        refuse(f"the copy differs from the source in: {', '.join(differing)}")
    rows = sum(check.target_rows for check in checks)
    click.echo(f"copied to {where(url)}: {rows:,} rows, every table's count and checksum equal")
