"""Operators' data commands: `import`, `export`, `stats` (no BOT_TOKEN needed)."""

from __future__ import annotations

import asyncio
import os
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli.common import database, offline, refuse, told_if_interrupted, written_whole
from bot.cli.group import cli
from bot.config import Settings
from bot.english import counted

if TYPE_CHECKING:
    from bot.domain.periods import Period
    from bot.services.export import Stats
    from bot.services.progress import ReadingProgress


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows and report the bad.")
def import_(file: Path, skip_invalid: bool) -> None:
    """Load accounts and meters from a CSV FILE.

    UTF-8, `,` or `;` separated, a header row, one row per meter. Required columns: account,
    phone (a Russian number), meter (the serial), resource (cold_water, hot_water,
    electricity, gas or heat); optional: address, tariffs, digits, last_t1..last_t3,
    last_date, verified_until, window_start, window_end, gis_meter_number, els, replaces
    (see README, "File formats").
    Every row is checked first; with any bad row nothing is imported, unless --skip-invalid.
    """
    import re

    from bot.clock import SystemClock
    from bot.services.importer import format_report, import_file
    from bot.storage.imports import import_repository

    committing = False  # every row written: the one transaction may be committing

    def progress(done: int, total: int) -> None:
        nonlocal committing
        committing = done >= total
        click.echo(
            f"\r{done:,} / {total:,} rows ({done * 100 // max(total, 1)}%)",
            err=True,
            nl=done >= total,
        )

    def left_behind() -> str:
        if not committing:
            return "nothing was imported (an import is one transaction)"
        return (
            "stopped as the import was being committed: the database holds the whole file or"
            " none of it; importing the file again is safe (what is loaded stays unchanged)"
        )

    async def main(settings: Settings) -> Any:
        async with database(settings) as db:
            return await import_file(
                import_repository(db),
                file,
                account_pattern=re.compile(settings.account_number_pattern, re.ASCII),
                skip_invalid=skip_invalid,
                progress=progress,
                now=SystemClock().now(),
            )

    settings = offline(database_must_exist=False)
    with told_if_interrupted(left_behind):
        report = asyncio.run(main(settings))
    refusals = [str(error) for error in report.errors if error.line is None]
    if refusals:  # the file as a whole, even with --skip-invalid
        refuse(f"{file}: {'; '.join(refusals)}; nothing was imported")
    if not report.imported or (report.errors and report.bad_rows >= report.rows):
        click.echo(format_report(report), err=True)  # every bad line, then the outcome
        sys.exit(1)
    click.echo(format_report(report))


@cli.command()
@click.option("--period", required=True, help="YYYY-MM")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["csv", "csv-excel", "xlsx", "gis"]),
    default="csv",
    show_default=True,
    help=(
        "csv: the columns below; csv-excel: the same `;`-separated with a BOM and CRLF, as a"
        " Russian-locale Excel opens it; xlsx: the same as a workbook (needs --output);"
        " gis: ГИС ЖКХ's «Импорт показаний ИПУ» sheet (a workbook when --output ends in .xlsx)."
    ),
)
def export(period: str, output: Path | None, form: str) -> None:
    """The readings accepted for PERIOD, as CSV, to stdout or --output.

    Columns: account, meter, resource, period, t1, t2, t3, submitted_at, receipt; one row per
    meter with a reading for the period (its latest). --format csv-excel writes them
    `;`-separated, UTF-8 with a BOM and CRLF line ends; --format xlsx as a workbook, account
    and meter as text (leading zeros kept), to --output only. With --format gis: the columns of ГИС
    ЖКХ's «Импорт показаний ИПУ» sheet (template 13.1.3.1), as a workbook when --output ends
    in .xlsx, else `;`-separated CSV; meters without gis_meter_number are left out and counted.
    """
    from bot.domain.periods import Period
    from bot.services.export import export_period, export_period_xlsx
    from bot.storage.readings import ReadingRepository

    try:
        wanted = Period.parse(period)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period") from None

    if output is not None and output.is_dir():  # `--output ""` is the current folder
        refuse(f"cannot write {output}: it is a folder; give a file name")
    if output is not None and not output.parent.is_dir():
        refuse(f"cannot write {output}: the folder {output.parent} does not exist")
    if output is not None and output.exists() and not os.access(output, os.W_OK):
        # the export replaces the file by renaming: a read-only one stays protected
        refuse(f"cannot write {output}: Permission denied")
    if form == "gis":
        _export_gis(wanted, output)
        return
    if form == "xlsx" and output is None:
        refuse("--format xlsx writes a binary workbook: give --output FILE.xlsx")
    excel = form == "csv-excel"

    async def main(settings: Settings) -> int:
        async with database(settings) as db:
            readings = ReadingRepository(db)
            if output is None:
                return await export_period(readings, wanted, sys.stdout, settings.tz, excel=excel)
            with written_whole(output) as path:
                if form == "xlsx":
                    return await export_period_xlsx(readings, wanted, path, settings.tz)
                with path.open("w", encoding="utf-8", newline="") as out:
                    return await export_period(readings, wanted, out, settings.tz, excel=excel)

    settings = offline(database_must_exist=True)
    try:
        with told_if_interrupted(lambda: _left_unwritten(output)):
            rows = asyncio.run(main(settings))
    except OSError as exc:  # the output file: no permission, a full disk
        refuse(f"cannot write {output or 'the output'}: {exc.strerror or exc}")
    click.echo(f"{counted(rows, 'reading')} exported for {wanted}", err=True)


def _left_unwritten(output: Path | None) -> str:
    if output is None:
        return "the export on stdout is incomplete"
    if output.exists():
        return f"{output} was not written; the file there is the earlier one, unchanged"
    return f"{output} was not written"


def _export_gis(period: Period, output: Path | None) -> None:
    from bot.services.gis_export import TEMPLATE_VERSION, GisExport, export_gis
    from bot.storage.readings import ReadingRepository

    if output is not None and output.suffix.lower() == ".xlsx" and not find_spec("openpyxl"):
        refuse("a .xlsx output needs openpyxl (pip install openpyxl); or write CSV")

    async def main(settings: Settings) -> GisExport:
        async with database(settings) as db:
            readings = ReadingRepository(db)
            if output is None:
                return await export_gis(readings, period, settings.tz, out=sys.stdout, path=None)
            with written_whole(output) as path:
                return await export_gis(readings, period, settings.tz, out=None, path=path)

    settings = offline(database_must_exist=True)
    try:
        with told_if_interrupted(lambda: _left_unwritten(output)):
            done = asyncio.run(main(settings))
    except OSError as exc:
        refuse(f"cannot write {output or 'the output'}: {exc.strerror or exc}")
    click.echo(
        f"{counted(done.rows, 'reading')} exported for {period} in the ГИС ЖКХ layout"
        f" (template {TEMPLATE_VERSION})",
        err=True,
    )
    if done.skipped:
        click.echo(
            f"{counted(done.skipped, 'reading')} left out: the meter has no gis_meter_number"
            " (add it to the import file)",
            err=True,
        )


@cli.command()
@click.option("--period", help="YYYY-MM; the current or last period by default.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the chart /stats sends (PNG): share read by day of the window, the"
    " period against the two before it.",
)
def stats(period: str | None, chart: Path | None) -> None:
    """Linked chats, accounts, meters, submissions, share of meters read this period."""
    from bot.clock import SystemClock
    from bot.domain.periods import Period
    from bot.services.export import collect_stats, format_stats
    from bot.services.progress import collect_progress
    from bot.storage.readings import ReadingRepository

    try:
        wanted = Period.parse(period) if period else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period") from None
    if chart is not None and not chart.parent.is_dir():
        refuse(f"cannot write {chart}: the folder {chart.parent} does not exist")

    async def main(settings: Settings) -> tuple[Stats, bytes | None]:
        async with database(settings) as db:
            today = SystemClock().now().astimezone(settings.tz).date()
            readings = ReadingRepository(db)
            figures = await collect_stats(readings, wanted, today, window=settings.window)
            if chart is None:
                return figures, None
            progress = await collect_progress(
                readings,
                figures.period,
                today,
                window=settings.window,
                tz=settings.tz,
                meters=figures.meters,
            )
        return figures, await draw_chart(progress, settings.default_locale)

    settings = offline(database_must_exist=True)
    figures, png = asyncio.run(main(settings))
    click.echo(format_stats(figures))
    if chart is not None and png is not None:
        try:
            chart.write_bytes(png)
        except OSError as exc:  # no permission, a full disk
            refuse(f"cannot write {chart}: {exc.strerror or exc}")
        click.echo(f"chart written to {chart}", err=True)


async def draw_chart(progress: ReadingProgress, locale: str) -> bytes:
    """The chart as /stats draws it, in DEFAULT_LOCALE's words."""
    from bot.charts import chart_text, progress_png
    from bot.i18n import create_core

    core = create_core(locale)
    await core.startup()
    try:
        text = chart_text(lambda key, **args: core.get(key, locale, **args), progress)
    finally:
        await core.shutdown()
    return progress_png(progress, text)
