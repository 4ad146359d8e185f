"""Commands that talk to Telegram: `run`, `send-reminders`, `set-webhook` (BOT_TOKEN needed)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from bot.cli.common import open_db, refuse, require_database, secrets, settings_for
from bot.cli.group import cli
from bot.config import Settings
from bot.logs import redact


@cli.command()
@click.option(
    "--delete-webhook",
    is_flag=True,
    help="In polling mode: delete a webhook that is set, instead of refusing to start.",
)
def run(delete_webhook: bool) -> None:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook with RUN_MODE=webhook."""
    from bot.startup import StartupError, preflight

    settings = settings_for()
    try:
        if not settings.on_postgres:
            preflight(settings.database_path)  # at once, before seconds of importing aiogram
        from bot.run import run_bot

        asyncio.run(run_bot(settings, delete_webhook=delete_webhook))
    except StartupError as exc:
        # one line, no traceback: the operator (or the supervisor's log) reads why (SPEC §9)
        line = " ".join(f"cannot start: {exc}".split())
        click.echo(redact(line, secrets(settings)), err=True)
        sys.exit(1)


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
        app = await build_app(settings, db=await open_db(settings))
        settle_heap()
        try:
            return await app.delivery.reminders.run_due(list(kinds) or None)
        finally:
            await app.close()

    settings = settings_for()  # it talks to Telegram: BOT_TOKEN is needed
    require_database(settings)
    click.echo(format_report(asyncio.run(main(settings))))


@cli.command("set-webhook")
def set_webhook() -> None:
    """Point Telegram at WEBHOOK_URL, with WEBHOOK_SECRET and the update types the bot uses.

    Idempotent: setting the same webhook again changes nothing. Pending updates are kept.
    """
    from bot.startup import StartupError

    settings = settings_for()  # it talks to Telegram: BOT_TOKEN is needed
    for name, value in (
        ("WEBHOOK_URL", settings.webhook_url),
        ("WEBHOOK_SECRET", settings.webhook_secret),
    ):
        if value is None:
            refuse(f"{name} is not set (see .env.example)")
    from bot.run import set_webhook as point_telegram

    try:
        updates = asyncio.run(point_telegram(settings))
    except StartupError as exc:
        refuse(redact(" ".join(str(exc).split()), secrets(settings)))
    click.echo(
        f"webhook set: {settings.webhook_url} (secret: WEBHOOK_SECRET; updates: "
        f"{', '.join(updates)}; pending updates kept)"
    )
