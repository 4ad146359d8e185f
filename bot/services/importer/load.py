"""The import as a whole: check the file into the stage, then load the stage (SPEC §3, §4)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.domain.models import FullSnapshot, Upserted
from bot.services.importer.across import check_into
from bot.services.importer.report import ImportReport
from bot.services.importer.rows import DEFAULT_ACCOUNT_PATTERN, FileCheck, expected_rows
from bot.services.stores import ImportStore, MakeStage, Spool, StageT


def check_file(
    path: Path,
    scratch_stage: MakeStage,
    *,
    account_pattern: re.Pattern[str] = DEFAULT_ACCOUNT_PATTERN,
    today: date,
) -> FileCheck:
    """Check a file without importing it: every bad row with its reason. Its rows wait in a
    stage ``scratch_stage`` makes (``bot.storage.import_stage.scratch_stage``)."""
    with scratch_stage(expected_rows(path)) as stage:
        return check_into(path, stage, account_pattern=account_pattern, today=today)


class _Stopped(Exception):
    """The import was cancelled while its file was being checked."""


class _StoppableSpool:
    """A spool whose next write stops the checking thread once ``stop`` is set."""

    def __init__(self, spool: Spool, stop: threading.Event) -> None:
        self._spool, self._stop = spool, stop

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if self._stop.is_set():
            raise _Stopped
        self._spool.write(rows)

    def flush(self) -> None:
        self._spool.flush()

    def rows_of(self, numbers: Iterable[str]) -> Iterator[tuple[int, str, str]]:
        return self._spool.rows_of(numbers)

    def skip(self, lines: Iterable[int]) -> None:
        self._spool.skip(lines)


async def _check_in_thread(
    path: Path, stage: Spool, *, account_pattern: re.Pattern[str], today: date
) -> FileCheck:
    """`check_into` in a thread (checking is CPU work: the event loop, a running bot, stays
    responsive). Cancelled (Ctrl-C, the bot stopping), it stops the thread and waits for it:
    the stage must not be closed under a thread still writing to it (that crashes the
    process)."""
    stop = threading.Event()
    spool = _StoppableSpool(stage, stop)
    work = asyncio.ensure_future(
        asyncio.to_thread(check_into, path, spool, account_pattern=account_pattern, today=today)
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        stop.set()
        while not work.done():
            try:
                await asyncio.wait({work})
            except asyncio.CancelledError:
                continue  # the thread stops at its next batch; the stage outlives it
        if not work.cancelled():
            work.exception()  # _Stopped, as asked: retrieved, so never logged
        raise


def _counting(
    report: ImportReport, total: int, progress: Callable[[int, int], None] | None
) -> Callable[[Upserted], None]:
    """What to do after each batch: add it to ``report``, and tell ``progress``."""
    done = 0

    def count(batch: Upserted) -> None:
        nonlocal done
        report.accounts_created += batch.accounts_created
        report.accounts_updated += batch.accounts_changed - batch.accounts_created
        report.accounts_unchanged += batch.accounts - batch.accounts_changed
        report.meters_created += batch.meters_created
        report.meters_updated += batch.meters_changed - batch.meters_created
        report.meters_unchanged += batch.rows - batch.meters_changed
        done += batch.rows
        if progress is not None:
            progress(done, total)

    return count


async def import_file(
    imports_into: ImportStore[StageT],
    path: Path,
    *,
    account_pattern: re.Pattern[str] = DEFAULT_ACCOUNT_PATTERN,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
    now: datetime,
    snapshot: FullSnapshot | None = None,
) -> ImportReport:
    """Check the whole file, then (when it is clean, or ``skip_invalid``) upsert its accounts
    and meters in one transaction, calling ``progress(rows written, rows to write)`` after
    each batch. Nothing is written when the report says ``imported=False``, nor when anything
    fails or the process dies before the end. With ``snapshot`` (`sync --full`) the file is
    the whole truth: what it lacks is closed, and any bad row refuses it whole (a row left out
    would close its account); SnapshotTooSmall when it would close too much."""
    if snapshot is not None:
        skip_invalid = False
    async with imports_into.attached_stage(expected_rows(path)) as stage:
        check = await _check_in_thread(
            path, stage, account_pattern=account_pattern, today=now.date()
        )
        if check.refused or (check.errors and not skip_invalid):
            return ImportReport(rows=check.rows, errors=check.errors)
        report = ImportReport(rows=check.rows, errors=check.errors)
        count = _counting(report, check.spooled - len(check.skip), progress)
        loaded = await imports_into.load_staged(
            stage, now, skipping=bool(check.skip), done=count, snapshot=snapshot
        )
        report.links_ended = loaded.links_ended
        report.meters_replaced = loaded.meters_replaced
        report.accounts_closed = loaded.accounts_closed
        report.meters_closed = loaded.meters_closed
        report.links_closed = loaded.links_closed
        report.full = snapshot is not None
        report.imported = True
        return report
