"""Command line: `python -m bot [run|import|export|send-reminders|stats]` (SPEC §3)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Settings, SettingsError, load_settings
from bot.logs import redact, setup_logging

T = TypeVar("T")


def _secrets(settings: Settings) -> list[str]:
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    api_id = settings.smsru_api_id.get_secret_value() if settings.smsru_api_id else ""
    return [token, token.partition(":")[2], api_id]


def _setup_logging(settings: Settings) -> None:
    setup_logging(settings.log_level, _secrets(settings))


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    _setup_logging(settings)
    return settings


def _run(main: Callable[[Settings], Awaitable[T]]) -> T:
    settings = _settings()
    return asyncio.run(main(settings))


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """The meter-readings Telegram bot. Without a command: run it (long polling)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@cli.command()
def run() -> None:
    """Run the bot with long polling until SIGINT/SIGTERM."""
    from bot.startup import StartupError, preflight

    settings = _settings()
    try:
        preflight(settings.database_path)  # at once, before seconds of importing aiogram
        from bot.app import run_polling

        asyncio.run(run_polling(settings))
    except StartupError as exc:
        # one line, no traceback: the operator (or the supervisor's log) reads why (SPEC §9)
        line = " ".join(f"cannot start: {exc}".split())
        click.echo(redact(line, _secrets(settings)), err=True)
        sys.exit(1)


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows and report the bad.")
def import_(file: Path, skip_invalid: bool) -> None:
    """Load accounts and meters from a CSV FILE (SPEC §4)."""
    import re

    from bot.clock import SystemClock
    from bot.services.importer import format_report, import_file
    from bot.storage.db import Database

    def progress(done: int, total: int) -> None:
        click.echo(
            f"\r{done:,} / {total:,} rows ({done * 100 // max(total, 1)}%)",
            err=True,
            nl=done >= total,
        )

    async def main(settings: Settings) -> Any:
        async with Database(settings.database_path) as db:
            return await import_file(
                db,
                file,
                account_pattern=re.compile(settings.account_number_pattern, re.ASCII),
                skip_invalid=skip_invalid,
                progress=progress,
                now=SystemClock().now(),
            )

    report = _run(main)
    click.echo(format_report(report))
    if report.errors and not skip_invalid:
        sys.exit(1)


@cli.command()
@click.option("--period", required=True, help="YYYY-MM")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
def export(period: str, output: Path | None) -> None:
    """The readings accepted for PERIOD, as CSV (SPEC §4), to stdout or --output."""
    from bot.domain.periods import Period
    from bot.services.export import export_period
    from bot.storage.db import Database

    try:
        wanted = Period.parse(period)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period") from None

    async def main(settings: Settings) -> int:
        async with Database(settings.database_path) as db:
            if output is None:
                return await export_period(db, wanted, sys.stdout, settings.tz)
            with output.open("w", encoding="utf-8", newline="") as out:
                return await export_period(db, wanted, out, settings.tz)

    rows = _run(main)
    click.echo(f"{rows} readings exported for {wanted}", err=True)


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
    from bot.services.reminders import send_reminders as job

    async def main(settings: Settings) -> Any:
        app = await build_app(settings)
        settle_heap()
        try:
            return await job(app, list(kinds) or None)
        finally:
            await app.close()

    click.echo(format_report(_run(main)))


@cli.command()
@click.option("--period", help="YYYY-MM; the current or last period by default.")
def stats(period: str | None) -> None:
    """Linked chats, accounts, meters, submissions, share of meters read this period."""
    from bot.clock import SystemClock
    from bot.domain.periods import Period
    from bot.domain.windows import SubmissionWindow
    from bot.services.export import collect_stats, format_stats
    from bot.storage.db import Database

    try:
        wanted = Period.parse(period) if period else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period") from None

    async def main(settings: Settings) -> Any:
        async with Database(settings.database_path) as db:
            today = SystemClock().now().astimezone(settings.tz).date()
            window = SubmissionWindow(settings.window_start_day, settings.window_end_day)
            return await collect_stats(db, wanted, today, window=window)

    click.echo(format_stats(_run(main)))


if __name__ == "__main__":
    cli(prog_name="python -m bot")
