"""`python -m bot outbox [--retry-dead]` (SPEC §3): readings on their way to the billing system
(no BOT_TOKEN needed)."""

from __future__ import annotations

import asyncio

import click

from bot.cli.common import database, offline
from bot.cli.group import cli
from bot.config import Settings
from bot.english import counted


@cli.command()
@click.option(
    "--retry-dead",
    is_flag=True,
    help="Send the dead events again (for three more days), and restart a delivery the "
    "billing system stopped with 410 Gone.",
)
def outbox(retry_dead: bool) -> None:
    """Delivery of readings to the billing system: events by state, the oldest waiting, the
    dead ones with their last error."""
    from bot.clock import SystemClock
    from bot.services.outbox_figures import OutboxStatus, format_figures
    from bot.storage.outbox import OutboxRepository

    async def main(settings: Settings) -> tuple[int, str]:
        async with database(settings) as db:
            status = OutboxStatus(
                OutboxRepository(db), SystemClock(), url=settings.billing_webhook_url
            )
            again = await status.retry_dead() if retry_dead else 0
            return again, format_figures(await status.figures())

    settings = offline(database_must_exist=True)
    again, report = asyncio.run(main(settings))
    if retry_dead:
        click.echo(f"{counted(again, 'dead event')} waiting again; the running bot sends them")
    click.echo(report)
