"""The `gis` export (SPEC §4, §10): a period's readings in the column layout of ГИС ЖКХ's
«Импорт показаний ИПУ» sheet (template 13.1.3.1; BILLING.md), so an operator uploads what
residents sent without retyping it.

Columns A-H: Адрес дома, Номер ПУ в ГИС ЖКХ, Коммунальный ресурс, Период, Значение показания
Т1/Т2/Т3 (seven decimals), Дата снятия показания (DD.MM.YYYY). A meter ГИС ЖКХ cannot be told
by (no gis_meter_number from the import) is left out and counted. Written as a workbook (.xlsx,
openpyxl) or as `;`-separated UTF-8 CSV with a BOM, as a Russian-locale Excel opens it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot.domain.moments import from_db
from bot.domain.periods import Period
from bot.services.excel import excel_csv_writer, sheets_closed_on_failure, text_cell

TEMPLATE_VERSION = "13.1.3.1"
SHEET = "Импорт показаний ИПУ"
HEADER = (
    "Адрес дома",
    "Номер ПУ в ГИС ЖКХ",
    "Коммунальный ресурс",
    "Период, за который передаются показания",
    "Значение показания (Т1)",
    "Значение показания (Т2)",
    "Значение показания (Т3)",
    "Дата снятия показания",
)
VERSION_NOTE = f"Шаблон ГИС ЖКХ «{SHEET}», версия {TEMPLATE_VERSION}"
RESOURCES = {
    "cold_water": "Холодная вода",
    "hot_water": "Горячая вода",
    "electricity": "Электрическая энергия",
    "heat": "Тепловая энергия",
    "gas": "Газ",
}


class GisReadings(Protocol):
    def gis_of_period(self, period: Period) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
        """address, gis_meter_number, resource, t1, t2, t3, submitted_at (stored), chunked."""
        ...


@dataclass(frozen=True, slots=True)
class GisRow:
    address: str
    meter_number: str
    resource: str
    period: str  # MM.YYYY
    values: tuple[int | None, int | None, int | None]  # T1..T3
    taken_on: str  # DD.MM.YYYY, the day the resident sent it (TIMEZONE)


@dataclass
class GisExport:
    rows: int = 0
    skipped: int = 0  # readings of meters without gis_meter_number


async def gis_rows(
    readings: GisReadings, period: Period, tz: tzinfo, export: GisExport
) -> AsyncGenerator[GisRow, None]:
    """The sheet's rows of the period; ``export`` counts them and the ones left out."""
    shown_period = f"{period.month:02d}.{period.year}"
    async with aclosing(readings.gis_of_period(period)) as chunks:
        async for chunk in chunks:
            for address, number, resource, t1, t2, t3, submitted_at in chunk:
                if not number:
                    export.skipped += 1
                    continue
                export.rows += 1
                yield GisRow(
                    address=address or "",
                    meter_number=number,
                    resource=RESOURCES[resource],
                    period=shown_period,
                    values=(t1, t2, t3),
                    taken_on=from_db(submitted_at).astimezone(tz).strftime("%d.%m.%Y"),
                )


def _decimal(value: int | None) -> str:
    """Seven decimals with a comma, as a Russian-locale Excel reads a number."""
    return "" if value is None else f"{value}," + "0" * 7


async def write_gis_csv(rows: AsyncIterator[GisRow], out: TextIO) -> None:
    """The sheet as CSV: the header row, then a row per reading (data from row 2, as in the
    template); the template's version stands in the header's column K, past the sheet's own
    columns (I and J, which ГИС ЖКХ fills, are left empty)."""
    writer = excel_csv_writer(out)
    writer.writerow((*HEADER, "", "", VERSION_NOTE))
    async for row in rows:
        writer.writerow(
            (
                row.address,
                row.meter_number,
                row.resource,
                row.period,
                *(_decimal(v) for v in row.values),
                row.taken_on,
            )
        )


async def write_gis_xlsx(rows: AsyncIterator[GisRow], path: Path) -> None:
    """The sheet as a workbook: «Импорт показаний ИПУ» with the header row and a row per
    reading, values as numbers shown with seven decimals, meter numbers as text; the template
    version in the workbook's properties and on a second sheet «Сведения»."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    book.properties.title = VERSION_NOTE
    book.properties.version = TEMPLATE_VERSION
    sheet = book.create_sheet(SHEET)
    with sheets_closed_on_failure(book):
        sheet.append(HEADER)
        async for row in rows:
            # text: no lost leading zeros
            cells: list[Any] = [row.address, text_cell(sheet, row.meter_number)]
            cells += [row.resource, row.period]
            for value in row.values:
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = "0.0000000"
                cells.append(cell)
            cells.append(row.taken_on)
            sheet.append(cells)
        about = book.create_sheet("Сведения")
        about.append(("Шаблон", SHEET))
        about.append(("Версия шаблона", TEMPLATE_VERSION))
        book.save(path)


async def export_gis(
    readings: GisReadings, period: Period, tz: tzinfo, *, out: TextIO | None, path: Path | None
) -> GisExport:
    """Write the period's sheet: as a workbook to ``path`` when it ends in .xlsx, else as CSV
    to ``out`` (or to ``path``)."""
    export = GisExport()
    # closed at once when writing fails (a full disk): not after the database has closed
    async with aclosing(gis_rows(readings, period, tz, export)) as rows:
        if path is not None and path.suffix.lower() == ".xlsx":
            await write_gis_xlsx(rows, path)
        elif path is not None:
            with path.open("w", encoding="utf-8", newline="") as file:
                await write_gis_csv(rows, file)
        else:
            assert out is not None
            await write_gis_csv(rows, out)
    return export
