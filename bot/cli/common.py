"""What every command shares: settings, the one-line refusal, the database opened for this
version (SPEC §3, §9)."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import click

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging
from bot.storage.db import Database
from bot.storage.sqlite import probe


def secrets(settings: Settings) -> list[str]:
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    api_id = settings.smsru_api_id.get_secret_value() if settings.smsru_api_id else ""
    webhook = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    redis_password = urlsplit(settings.redis).password or "" if settings.redis else ""
    billing = settings.billing_webhook_secret
    whsec = billing.get_secret_value() if billing else ""
    return [token, token.partition(":")[2], api_id, webhook, redis_password, whsec, whsec[6:]]


def settings_for(*, require_token: bool = True) -> Settings:
    try:
        settings = load_settings(require_token=require_token)
    except SettingsError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    setup_logging(
        settings.log_level,
        secrets(settings),
        log_format=settings.log_format,
        chat_key=settings.log_chat_key,
    )
    return settings


def refuse(message: str) -> NoReturn:
    """A command that cannot do what it was asked: one line on stderr, a non-zero exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def offline(*, database_must_exist: bool) -> Settings:
    """Settings for a command that never talks to Telegram (no BOT_TOKEN needed). Only `run`,
    `import` (and `migrate`) may create the database: the others refuse a missing one, which
    is most often a mistyped DATABASE_URL, rather than answer from a new, empty one."""
    settings = settings_for(require_token=False)
    if settings.on_postgres:
        return settings  # a server that does not answer is refused when it is opened
    if database_must_exist:
        require_database(settings)
    if settings.database_path.exists():
        require_usable_database(settings)
    return settings


INTERRUPTED = 130  # the shell's exit status for a process stopped by SIGINT (128 + 2)


@contextmanager
def told_if_interrupted(outcome: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C: one line saying what it left behind (``outcome()``), exit 130, instead of
    click's bare "Aborted!"."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {outcome()}", err=True)  # after a progress line
        sys.exit(INTERRUPTED)


@contextmanager
def written_whole(target: Path) -> Iterator[Path]:
    """A path beside ``target`` (same folder and suffix) to write to, renamed to ``target``
    only once the writing has ended well and removed otherwise (an error, Ctrl-C): a file at
    ``target`` is a whole one, and what was there stays until the new one is whole. The
    process id in its name keeps two commands at once apart."""
    partial = target.with_name(f".{target.stem}.{os.getpid()}.partial{target.suffix}")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


async def open_db(settings: Settings) -> Database:
    """The database, ready for this version (created when empty); refused in one line when
    it cannot be opened or its schema is older (`migrate` changes it)."""
    from bot.startup import database_errors, database_problem
    from bot.storage.engines import open_database

    try:
        return await open_database(settings.database_url)
    except database_errors() as exc:
        refuse(database_problem(settings.database_url, exc))


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = await open_db(settings)
    try:
        yield db
    finally:
        await db.close()


def require_database(settings: Settings) -> None:
    if settings.on_postgres:
        return
    path = settings.database_path
    refuse_a_folder(settings)
    if not path.is_file():
        refuse(
            f"no database at {path} (DATABASE_URL={settings.database_url}); check the URL, "
            "or create the database with `python -m bot import FILE` or `python -m bot run`"
        )


def refuse_a_folder(settings: Settings) -> None:
    path = settings.database_path
    if path.is_dir():
        refuse(f"{path} is a folder, not a database (DATABASE_URL={settings.database_url})")


def require_usable_database(settings: Settings) -> None:
    path = settings.database_path
    refuse_a_folder(settings)
    try:
        probe(str(path))
    except (sqlite3.Error, OSError) as exc:  # a folder, a file that is not a database, no access
        refuse(f"cannot open the database at {path}: {exc}")
