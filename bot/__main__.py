"""Command line: `python -m bot [run|import|export|send-reminders|stats|migrate|copy-db|
set-webhook]` (SPEC §3).

Commands that never talk to Telegram (import, export, stats, migrate, copy-db) run without
BOT_TOKEN; a refusal is one line on stderr and a non-zero exit."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from bot.config import Settings, SettingsError, load_settings
from bot.english import counted
from bot.logs import redact, setup_logging
from bot.storage.db import Database
from bot.storage.sqlite import probe


def _secrets(settings: Settings) -> list[str]:
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    api_id = settings.smsru_api_id.get_secret_value() if settings.smsru_api_id else ""
    webhook = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    redis_password = urlsplit(settings.redis).password or "" if settings.redis else ""
    return [token, token.partition(":")[2], api_id, webhook, redis_password]


def _setup_logging(settings: Settings) -> None:
    setup_logging(settings.log_level, _secrets(settings))


def _settings(*, require_token: bool = True) -> Settings:
    try:
        settings = load_settings(require_token=require_token)
    except SettingsError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    _setup_logging(settings)
    return settings


def _refuse(message: str) -> NoReturn:
    """A command that cannot do what it was asked: one line on stderr, a non-zero exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _offline(*, database_must_exist: bool) -> Settings:
    """Settings for a command that never talks to Telegram (no BOT_TOKEN needed). Only `run`,
    `import` (and `migrate`) may create the database: the others refuse a missing one, which
    is most often a mistyped DATABASE_URL, rather than answer from a new, empty one."""
    settings = _settings(require_token=False)
    if settings.on_postgres:
        return settings  # a server that does not answer is refused when it is opened
    if database_must_exist:
        _require_database(settings)
    if settings.database_path.exists():
        _require_usable_database(settings)
    return settings


async def _open(settings: Settings) -> Database:
    """The database, ready for this version (created when empty); refused in one line when
    it cannot be opened or its schema is older (`migrate` changes it)."""
    from bot.startup import database_errors, database_problem
    from bot.storage.engines import open_database

    try:
        return await open_database(settings.database_url)
    except database_errors() as exc:
        _refuse(database_problem(settings.database_url, exc))


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    db = await _open(settings)
    try:
        yield db
    finally:
        await db.close()


def _require_database(settings: Settings) -> None:
    if settings.on_postgres:
        return
    path = settings.database_path
    if not path.is_file():
        _refuse(
            f"no database at {path} (DATABASE_URL={settings.database_url}); check the URL, "
            "or create the database with `python -m bot import FILE` or `python -m bot run`"
        )


def _require_usable_database(settings: Settings) -> None:
    path = settings.database_path
    try:
        probe(str(path))
    except (sqlite3.Error, OSError) as exc:  # a folder, a file that is not a database, no access
        _refuse(f"cannot open the database at {path}: {exc}")


class _OneLineErrors(click.Group):
    """Usage errors (a missing argument, a bad option, a file that does not exist) as one
    line on stderr, `error: ...`, exit 2, instead of click's usage block."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # without standalone mode click returns an Exit's code (--help: 0) instead of exiting
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_OneLineErrors, invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """The meter-readings Telegram bot. Without a command: run it (RUN_MODE)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@cli.command()
@click.option(
    "--delete-webhook",
    is_flag=True,
    help="In polling mode: delete a webhook that is set, instead of refusing to start.",
)
def run(delete_webhook: bool) -> None:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook with RUN_MODE=webhook."""
    from bot.startup import StartupError, preflight

    settings = _settings()
    try:
        if not settings.on_postgres:
            preflight(settings.database_path)  # at once, before seconds of importing aiogram
        from bot.run import run_bot

        asyncio.run(run_bot(settings, delete_webhook=delete_webhook))
    except StartupError as exc:
        # one line, no traceback: the operator (or the supervisor's log) reads why (SPEC §9)
        line = " ".join(f"cannot start: {exc}".split())
        click.echo(redact(line, _secrets(settings)), err=True)
        sys.exit(1)


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows and report the bad.")
def import_(file: Path, skip_invalid: bool) -> None:
    """Load accounts and meters from a CSV FILE.

    UTF-8, `,` or `;` separated, a header row, one row per meter. Required columns: account,
    phone (a Russian number), meter (the serial), resource (cold_water, hot_water,
    electricity, gas or heat); optional: address, tariffs, digits, last_t1..last_t3,
    last_date, verified_until, window_start, window_end (see README, "File formats").
    Every row is checked first; with any bad row nothing is imported, unless --skip-invalid.
    """
    import re

    from bot.clock import SystemClock
    from bot.services.importer import format_report, import_file
    from bot.storage.imports import import_repository

    def progress(done: int, total: int) -> None:
        click.echo(
            f"\r{done:,} / {total:,} rows ({done * 100 // max(total, 1)}%)",
            err=True,
            nl=done >= total,
        )

    async def main(settings: Settings) -> Any:
        async with _database(settings) as db:
            return await import_file(
                import_repository(db),
                file,
                account_pattern=re.compile(settings.account_number_pattern, re.ASCII),
                skip_invalid=skip_invalid,
                progress=progress,
                now=SystemClock().now(),
            )

    settings = _offline(database_must_exist=False)
    report = asyncio.run(main(settings))
    refusals = [str(error) for error in report.errors if error.line is None]
    if refusals:  # the file as a whole, even with --skip-invalid
        _refuse(f"{file}: {'; '.join(refusals)}; nothing was imported")
    if not report.imported or (report.errors and report.bad_rows >= report.rows):
        click.echo(format_report(report), err=True)  # every bad line, then the outcome
        sys.exit(1)
    click.echo(format_report(report))


@cli.command()
@click.option("--period", required=True, help="YYYY-MM")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
def export(period: str, output: Path | None) -> None:
    """The readings accepted for PERIOD, as CSV, to stdout or --output.

    Columns: account, meter, resource, period, t1, t2, t3, submitted_at, receipt; one row per
    meter with a reading for the period (its latest).
    """
    from bot.domain.periods import Period
    from bot.services.export import export_period
    from bot.storage.readings import ReadingRepository

    try:
        wanted = Period.parse(period)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period") from None

    if output is not None and not output.parent.is_dir():
        _refuse(f"cannot write {output}: the folder {output.parent} does not exist")

    async def main(settings: Settings) -> int:
        async with _database(settings) as db:
            readings = ReadingRepository(db)
            if output is None:
                return await export_period(readings, wanted, sys.stdout, settings.tz)
            with output.open("w", encoding="utf-8", newline="") as out:
                return await export_period(readings, wanted, out, settings.tz)

    settings = _offline(database_must_exist=True)
    try:
        rows = asyncio.run(main(settings))
    except OSError as exc:  # the output file: no permission, a full disk
        _refuse(f"cannot write {output or 'the output'}: {exc.strerror or exc}")
    click.echo(f"{counted(rows, 'reading')} exported for {wanted}", err=True)


@cli.command("send-reminders")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["opening", "closing", "verification"]),
    help="Only this kind (repeatable); all due kinds by default.",
)
def send_reminders(kinds: tuple[str, ...]) -> None:
    """Run the reminder job now, exactly as the scheduler would (no duplicates)."""
    from bot.app import build_app, settle_heap
    from bot.services.reminders import format_report

    async def main(settings: Settings) -> Any:
        app = await build_app(settings, db=await _open(settings))
        settle_heap()
        try:
            return await app.delivery.reminders.run_due(list(kinds) or None)
        finally:
            await app.close()

    settings = _settings()  # it talks to Telegram: BOT_TOKEN is needed
    _require_database(settings)
    click.echo(format_report(asyncio.run(main(settings))))


@cli.command()
@click.option("--period", help="YYYY-MM; the current or last period by default.")
def stats(period: str | None) -> None:
    """Linked chats, accounts, meters, submissions, share of meters read this period."""
    from bot.clock import SystemClock
    from bot.domain.periods import Period
    from bot.services.export import collect_stats, format_stats
    from bot.storage.readings import ReadingRepository

    try:
        wanted = Period.parse(period) if period else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period") from None

    async def main(settings: Settings) -> Any:
        async with _database(settings) as db:
            today = SystemClock().now().astimezone(settings.tz).date()
            readings = ReadingRepository(db)
            return await collect_stats(readings, wanted, today, window=settings.window)

    settings = _offline(database_must_exist=True)
    click.echo(format_stats(asyncio.run(main(settings))))


@cli.command()
def migrate() -> None:
    """Bring the database schema up to this version's (the only command that changes an
    existing schema; `run` refuses an older one). Back the database up first."""
    from bot.startup import database_errors, database_problem
    from bot.storage.engines import connect
    from bot.storage.schema_version import HEAD, revision
    from bot.storage.schema_version import migrate as bring_up_to_date

    async def main(settings: Settings) -> None:
        try:
            db = await connect(settings.database_url)
        except database_errors() as exc:
            _refuse(database_problem(settings.database_url, exc))
        try:
            before = await revision(db)
            if before == HEAD:
                click.echo(f"the database schema is up to date (revision {HEAD})")
                return
            click.echo(
                f"schema {before or 'none (a new database)'} -> {HEAD}"
                + ("" if before is None else "; the database was backed up first, was it?"),
                err=True,
            )
            await bring_up_to_date(db)
            click.echo(f"the database schema is now at revision {HEAD}")
        finally:
            await db.close()

    asyncio.run(main(_offline(database_must_exist=False)))


@cli.command("copy-db")
@click.option("--to", "url", required=True, metavar="URL", help="sqlite:///… or postgresql://…")
def copy_db(url: str) -> None:
    """Copy every table of DATABASE_URL into the new, empty database at URL, then compare
    both: row counts and checksums per table. Stop the bot first; exit 0 only when all match."""
    from bot.startup import database_errors, database_problem, where
    from bot.storage.copy import CopyRefused, copy_database, format_checks
    from bot.storage.engines import is_postgres, open_database, sqlite_path
    from bot.storage.instance_lock import InstanceLockHeld, hold_instance_locks

    if not (url.startswith("sqlite:///") or is_postgres(url)):
        raise click.BadParameter("expected sqlite:///path or postgresql://…", param_hint="--to")
    settings = _offline(database_must_exist=True)
    files = [sqlite_path(u).resolve() for u in (settings.database_url, url) if not is_postgres(u)]
    if url == settings.database_url or (len(files) == 2 and files[0] == files[1]):
        _refuse("--to names the configured database itself")

    def progress(table: str, done: int, total: int) -> None:  # big tables only
        click.echo(f"\r{table}: {done:,} / {total:,} rows", err=True, nl=done >= total)

    async def main() -> Any:
        async with _database(settings) as source:
            try:
                target = await open_database(url)
            except database_errors() as exc:
                _refuse(database_problem(url, exc, setting="--to"))
            try:
                return await copy_database(source, target, progress)
            except CopyRefused as exc:
                _refuse(str(exc))
            finally:
                await target.close()

    try:
        with hold_instance_locks(files):  # no bot writes to either file meanwhile
            checks = asyncio.run(main())
    except InstanceLockHeld as exc:
        _refuse(str(exc))
    click.echo(format_checks(checks))
    if differing := [check.table for check in checks if not check.matches]:
        _refuse(f"the copy differs from the source in: {', '.join(differing)}")
    rows = sum(check.target_rows for check in checks)
    click.echo(f"copied to {where(url)}: {rows:,} rows, every table's count and checksum equal")


@cli.command("set-webhook")
def set_webhook() -> None:
    """Point Telegram at WEBHOOK_URL, with WEBHOOK_SECRET and the update types the bot uses.

    Idempotent: setting the same webhook again changes nothing. Pending updates are kept.
    """
    from bot.startup import StartupError

    settings = _settings()  # it talks to Telegram: BOT_TOKEN is needed
    for name, value in (
        ("WEBHOOK_URL", settings.webhook_url),
        ("WEBHOOK_SECRET", settings.webhook_secret),
    ):
        if value is None:
            _refuse(f"{name} is not set (see .env.example)")
    from bot.run import set_webhook as point_telegram

    try:
        updates = asyncio.run(point_telegram(settings))
    except StartupError as exc:
        _refuse(redact(" ".join(str(exc).split()), _secrets(settings)))
    click.echo(
        f"webhook set: {settings.webhook_url} (secret: WEBHOOK_SECRET; updates: "
        f"{', '.join(updates)}; pending updates kept)"
    )


if __name__ == "__main__":
    cli(prog_name="python -m bot")
