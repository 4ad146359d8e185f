"""The `python -m bot` group: usage errors as one line (SPEC §3)."""

from __future__ import annotations

import sys
from typing import Any

import click


class _OneLineErrors(click.Group):
    """Usage errors (a missing argument, a bad option, a file that does not exist) as one
    line on stderr, `error: ...`, exit 2, instead of click's usage block."""

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
        # without standalone mode click returns an Exit's code (--help: 0) instead of exiting
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_OneLineErrors, invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """The meter-readings Telegram bot. Without a command: run it (RUN_MODE)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(cli.commands["run"])  # bot/cli/running.py
