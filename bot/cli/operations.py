"""Operations: `backup` (no BOT_TOKEN needed); `migrate` is with the schema commands."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import offline, refuse
from bot.cli.group import cli

PG_DUMP_ADVICE = (
    "DATABASE_URL names PostgreSQL: `backup` copies SQLite files; back PostgreSQL up with"
    " pg_dump, e.g. `pg_dump --format=custom --file FILE DATABASE` (docs/operations.md)"
)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE when it exists.")
def backup(file: Path, force: bool) -> None:
    """Write a consistent copy of the SQLite database to FILE, while the bot runs (SQLite's
    online backup). Restore: stop the bot, put FILE where DATABASE_URL points (no -wal or -shm
    file beside it), start the bot. On PostgreSQL: refused, pg_dump is the tool (exit 1)."""
    from bot.storage.backup import BackupFailed, backup_sqlite

    settings = offline(database_must_exist=True)
    if settings.on_postgres:
        refuse(PG_DUMP_ADVICE)
    source = settings.database_path
    if file.resolve() == source.resolve():
        refuse("FILE is the database itself")
    if file.is_dir():  # FILE "" is the current folder
        refuse(f"cannot write {file}: it is a folder; give a file name")
    if file.exists() and not force:
        refuse(f"{file} exists; pass --force to replace it")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        refuse(f"cannot write {file}: {file.parent} is a file, not a folder")
    except OSError as exc:  # no permission, a file further up
        refuse(f"cannot write {file}: cannot make the folder {file.parent}: {exc.strerror or exc}")
    try:
        made = backup_sqlite(source, file)
    except BackupFailed as exc:
        refuse(f"backup of {source} failed: {exc}")
    click.echo(
        f"backed up {source} to {made.path}: {made.size / 1e6:.1f} MB,"
        f" schema revision {made.revision}, {made.readings:,} readings"
    )
