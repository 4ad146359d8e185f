"""What an import did, and how the operator reads it after ``python -m bot import``."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.services.importer.rows import RowError


@dataclass
class ImportReport:
    rows: int = 0  # data rows in the file (blank lines not counted)
    accounts_created: int = 0
    accounts_updated: int = 0
    accounts_unchanged: int = 0
    meters_created: int = 0
    meters_updated: int = 0
    meters_unchanged: int = 0
    links_ended: int = 0  # chats unlinked from accounts whose phone changed (each is told)
    meters_replaced: int = 0  # closed by a new meter's `replaces` (their readings stay)
    accounts_closed: int = 0  # a full snapshot: absent from the file (never deleted)
    meters_closed: int = 0  # a full snapshot: absent, or of a closed account
    links_closed: int = 0  # chats unlinked from the accounts closed (each is told)
    full: bool = False  # a full snapshot: what the file lacks was closed
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False  # False: nothing was written

    @property
    def unchanged(self) -> int:
        """Accounts and meters the file left exactly as they were."""
        return self.accounts_unchanged + self.meters_unchanged

    @property
    def bad_rows(self) -> int:
        return sum(1 for error in self.errors if error.line is not None)


def _refusal(report: ImportReport) -> str:
    if any(error.line is None for error in report.errors):
        return "Nothing was imported."
    return (
        f"{report.bad_rows} of {report.rows} rows are bad; nothing was imported. Fix them, or "
        "run again with --skip-invalid to import the good rows."
    )


def format_report(report: ImportReport) -> str:
    """What the operator reads after ``python -m bot import``: every bad row, then the outcome."""
    lines = [str(error) for error in report.errors]
    if not report.imported:
        lines.append(_refusal(report))
        return "\n".join(lines)
    lines.append(
        f"Accounts: {report.accounts_created} created, {report.accounts_updated} updated, "
        f"{report.accounts_unchanged} unchanged."
    )
    lines.append(
        f"Meters: {report.meters_created} created, {report.meters_updated} updated, "
        f"{report.meters_unchanged} unchanged."
    )
    if report.links_ended:
        lines.append(
            f"Links ended because an account's phone changed: {report.links_ended}; "
            "the running bot tells those chats."
        )
    if report.meters_replaced:
        lines.append(f"Meters replaced (closed, their readings kept): {report.meters_replaced}.")
    if report.full:
        lines.append(
            f"Absent from the snapshot, closed: {report.accounts_closed} accounts, "
            f"{report.meters_closed} meters (never deleted; readings kept)."
        )
        if report.links_closed:
            lines.append(
                f"Links ended because their account closed: {report.links_closed}; "
                "the running bot tells those chats."
            )
    if report.bad_rows:
        lines.append(f"{report.bad_rows} of {report.rows} rows are bad and were skipped.")
    return "\n".join(lines)
