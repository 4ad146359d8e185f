"""`python -m bot sync [--full] [--force] [FILE | --url URL]`: the billing system's accounts
snapshot (SPEC §3, §10); no BOT_TOKEN needed, the running bot sends the notices it queues."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import click

from bot.cli.common import database, offline, refuse
from bot.cli.group import cli
from bot.config import Settings
from bot.services.snapshot import SyncOutcome


@cli.command()
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--url", help="Fetch the file here (default: BILLING_ACCOUNTS_URL).")
@click.option("--full", is_flag=True, help="The file is the whole truth: close what it lacks.")
@click.option(
    "--force", is_flag=True, help="With --full: close even more than SYNC_MAX_CLOSE_SHARE."
)
def sync(file: Path | None, url: str | None, full: bool, force: bool) -> None:
    """Load the accounts snapshot from FILE, --url or BILLING_ACCOUNTS_URL.

    The file is an import file (see `import --help`). Without --full, accounts and meters
    are added and updated as `import` does; with --full, accounts and meters absent from it
    are closed (never deleted: readings stay; the closed accounts' chats are unlinked and
    told). A full snapshot that would close more than SYNC_MAX_CLOSE_SHARE of the open
    accounts stops unless --force. A URL is asked with the ETag of the last file loaded:
    unchanged, nothing is read.
    Any bad row refuses the whole file.
    """
    if file is not None and url is not None:
        raise click.UsageError("give FILE or --url, not both")
    if force and not full:
        raise click.UsageError("--force goes with --full (it lets a snapshot close more)")
    if url is not None and not re.fullmatch(r"https?://[^\s/?#]+\S*", url):
        raise click.BadParameter("expected an http:// or https:// URL", param_hint="--url")
    settings = offline(database_must_exist=False)
    source = url or (None if file is not None else settings.billing_accounts_url)
    if file is None and source is None:
        refuse("give FILE or --url URL, or set BILLING_ACCOUNTS_URL")
    outcome = asyncio.run(_sync(settings, file, source, full=full, force=force))
    _tell(outcome, file)


async def _sync(
    settings: Settings, file: Path | None, url: str | None, *, full: bool, force: bool
) -> SyncOutcome:
    from bot.clock import SystemClock
    from bot.services.snapshot import SnapshotService, SnapshotUnavailable
    from bot.snapshot_feed import HttpSnapshotFeed
    from bot.storage.imports import import_repository
    from bot.storage.snapshot import SnapshotSourceRepository

    def progress(done: int, total: int) -> None:
        click.echo(f"\r{done:,} / {total:,} rows", err=True, nl=done >= total)

    shown = progress if sys.stderr.isatty() else None  # a log, or a refusal, stays clean

    async with database(settings) as db:
        service = SnapshotService(
            imports=import_repository(db),
            sources=SnapshotSourceRepository(db),
            feed=HttpSnapshotFeed(),
            clock=SystemClock(),
            account_pattern=settings.account_number_pattern,
            max_close_share=settings.sync_max_close_share,
        )
        if file is not None:
            return await service.from_file(file, full=full, force=force, progress=shown)
        assert url is not None
        try:
            return await service.from_url(url, full=full, force=force, progress=shown)
        except SnapshotUnavailable as exc:
            refuse(f"{exc}; nothing was changed")


def _tell(outcome: SyncOutcome, file: Path | None) -> None:
    from bot.services.importer import format_report
    from bot.services.snapshot import too_small_line

    if outcome.not_modified:
        click.echo("The snapshot is unchanged since it was last loaded (ETag): nothing read.")
        return
    if outcome.too_small is not None:
        refuse(too_small_line(outcome.too_small))
    report = outcome.report
    assert report is not None
    refusals = [str(error) for error in report.errors if error.line is None]
    if refusals:
        refuse(f"{file or 'the snapshot'}: {'; '.join(refusals)}; nothing was changed")
    if not report.imported:
        click.echo(format_report(report), err=True)
        sys.exit(1)
    click.echo(format_report(report))
