"""Loading accounts and meters from the billing system's file (SPEC §3, §4), in parts:

- :mod:`.parse` reads the file: encoding, separator, header, records as cells;
- :mod:`.columns` and :mod:`.check` check each row on its own, a column or a rule at a time;
- :mod:`.across` checks across rows (a meter twice in one account, an account with two
  phones) while the rows that passed go to the stage (``bot.storage.import_stage``);
- :mod:`.load` then has ``bot.storage.imports`` upsert accounts and meters from the stage, all
  in one transaction, so an import is all or nothing; :mod:`.report` tells the operator.

An import never deletes an account, a meter or a submitted reading.
"""

from bot.services.importer.check import parse_rows
from bot.services.importer.load import check_file, import_file
from bot.services.importer.report import ImportReport, format_report
from bot.services.importer.rows import (
    COLUMNS,
    DEFAULT_ACCOUNT_PATTERN,
    REQUIRED_COLUMNS,
    FileCheck,
    ImportRow,
    RowError,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_ACCOUNT_PATTERN",
    "REQUIRED_COLUMNS",
    "FileCheck",
    "ImportReport",
    "ImportRow",
    "RowError",
    "check_file",
    "format_report",
    "import_file",
    "parse_rows",
]
