"""The `python -m bot` group: usage errors as one line (SPEC §3)."""

from __future__ import annotations

import sys
from typing import Any

import click


class _OneLineErrors(click.Group):
    """Usage errors (a missing argument, a bad option, a file that does not exist) as one
    line on stderr, `error: ...`, exit 2, instead of click's usage block; Ctrl-C and a
    database failing half-way as one line too."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl-C where the command says nothing of its own
            click.echo("interrupted: stopped before the end", err=True)
            sys.exit(130)
        except Exception as exc:
            reason = _database_failure(exc)
            if reason is None:
                raise
            click.echo(f"error: {reason}", err=True)
            sys.exit(1)
        # without standalone mode click returns an Exit's code (--help: 0) instead of exiting
        sys.exit(result if isinstance(result, int) else 0)


def _database_failure(exc: Exception) -> str | None:
    """One line for a database that fails half-way through a command (a full disk or temp
    folder, a server gone); None for anything else, which stays a traceback."""
    from bot.startup import database_errors

    if isinstance(exc, OSError) or not isinstance(exc, database_errors()):
        return None
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return (
        f"the database failed: {reason}; check that its disk (and TMPDIR) has room and its"
        " server answers, then run the command again"
    )


@click.group(cls=_OneLineErrors, invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """The meter-readings Telegram bot. Without a command: run it (RUN_MODE)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(cli.commands["run"])  # bot/cli/running.py
