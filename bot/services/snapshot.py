"""The billing system's accounts snapshot (SPEC §10 `sync`): a §4 file from a path or from
BILLING_ACCOUNTS_URL, loaded like `import`, or with `full` as the whole truth, where what the
file lacks is closed (never deleted) and the linked chats are told through notices.

The URL is asked with the ETag it last answered (If-None-Match): a 304 reads nothing. The ETag
is remembered only once its file was loaded, so a refused file is fetched again next time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Generic, Protocol

from bot.clock import Clock
from bot.domain.models import FullSnapshot, SnapshotTooSmall
from bot.services.importer import ImportReport, import_file
from bot.services.stores import ImportStore, StageT

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fetched:
    etag: str | None  # what the server answered with, to send back next time


@dataclass(frozen=True, slots=True)
class NotModified:
    """304: the file is the one loaded last time."""


class SnapshotUnavailable(Exception):
    """The URL could not be read (network, a status other than 200 and 304); the message says
    why in one line, without the URL's query or credentials."""


class SnapshotFeed(Protocol):
    async def fetch(self, url: str, etag: str | None, into: Path) -> Fetched | NotModified:
        """Write the file at ``url`` into ``into`` unless it still has ``etag``; raises
        SnapshotUnavailable."""
        ...


class SnapshotSources(Protocol):
    async def etag(self, url: str) -> str | None: ...
    async def remember(self, url: str, etag: str | None, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    report: ImportReport | None = None  # None: nothing was read (not modified) or refused
    not_modified: bool = False
    too_small: SnapshotTooSmall | None = None  # the share guard stopped a full snapshot

    @property
    def loaded(self) -> bool:
        return self.report is not None and self.report.imported


@contextlib.contextmanager
def _private_file() -> Iterator[Path]:
    """A file only this user reads (the snapshot holds phones), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="meter-sync-"))
    path = folder / "accounts.csv"
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
            os.rmdir(folder)


class SnapshotService(Generic[StageT]):
    def __init__(
        self,
        *,
        imports: ImportStore[StageT],
        sources: SnapshotSources,
        feed: SnapshotFeed,
        clock: Clock,
        account_pattern: str,
        max_close_share: float,
    ) -> None:
        self.imports = imports
        self.sources = sources
        self.feed = feed
        self.clock = clock
        self.account_pattern = re.compile(account_pattern, re.ASCII)
        self.max_close_share = max_close_share

    async def from_file(
        self,
        path: Path,
        *,
        full: bool,
        force: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncOutcome:
        """Load the file: like `import` (a bad row refuses the whole file), or as the whole
        truth with ``full``, stopped by the share guard unless ``force``."""
        snapshot = FullSnapshot(self.max_close_share, force) if full else None
        try:
            report = await import_file(
                self.imports,
                path,
                account_pattern=self.account_pattern,
                progress=progress,
                now=self.clock.now(),
                snapshot=snapshot,
            )
        except SnapshotTooSmall as exc:
            return SyncOutcome(too_small=exc)
        return SyncOutcome(report=report)

    async def from_url(
        self,
        url: str,
        *,
        full: bool,
        force: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncOutcome:
        """Fetch the file (If-None-Match with the ETag remembered) and load it as
        :meth:`from_file` does; raises SnapshotUnavailable."""
        known = await self.sources.etag(url)
        with _private_file() as path:
            fetched = await self.feed.fetch(url, known, path)
            if isinstance(fetched, NotModified):
                return SyncOutcome(not_modified=True)
            outcome = await self.from_file(path, full=full, force=force, progress=progress)
        if outcome.loaded:
            await self.sources.remember(url, fetched.etag, self.clock.now())
        return outcome


class DailySync(Generic[StageT]):
    """The scheduler's daily job (SYNC_TIME): BILLING_ACCOUNTS_URL, never forced; what stops
    it (an unreadable URL, a bad row, the share guard) is logged and told to the admins."""

    def __init__(
        self,
        service: SnapshotService[StageT],
        url: str,
        *,
        full: bool,
        alert_admins: Callable[..., Awaitable[object]] | None = None,
    ) -> None:
        self.service = service
        self.url = url
        self.full = full
        self.alert_admins = alert_admins

    async def run(self) -> SyncOutcome | None:
        try:
            outcome = await self.service.from_url(self.url, full=self.full)
        except SnapshotUnavailable as exc:
            await self._stopped(str(exc))
            return None
        if outcome.not_modified:
            log.info("accounts snapshot unchanged (ETag): nothing read")
        elif outcome.too_small is not None:
            await self._stopped(too_small_line(outcome.too_small))
        elif outcome.report is not None and not outcome.report.imported:
            bad = outcome.report.bad_rows
            await self._stopped(f"the file has {bad} bad rows (or cannot be read): nothing loaded")
        elif outcome.report is not None:
            log.info("accounts snapshot loaded: %s", _summary(outcome.report))
        return outcome

    async def _stopped(self, reason: str) -> None:
        log.error("accounts snapshot not loaded: %s", reason)
        if self.alert_admins is not None:
            await self.alert_admins("admin-sync-failed", reason=reason)


def too_small_line(exc: SnapshotTooSmall) -> str:
    share = exc.closing / exc.open_accounts if exc.open_accounts else 1.0
    return (
        f"the full snapshot would close {exc.closing:,} of {exc.open_accounts:,} open accounts "
        f"({share:.0%}, more than SYNC_MAX_CLOSE_SHARE {exc.share:.0%}): is the file "
        "complete? Nothing was changed; run it with --force to close them"
    )


def _summary(report: ImportReport) -> str:
    return (
        f"{report.accounts_created} accounts created, {report.accounts_updated} updated, "
        f"{report.accounts_closed} closed; {report.meters_created} meters created, "
        f"{report.meters_updated} updated, {report.meters_replaced} replaced, "
        f"{report.meters_closed} closed"
    )
