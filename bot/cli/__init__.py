"""Command line: `python -m bot [run|import|export|send-reminders|stats|migrate|copy-db|
backup|set-webhook]` (SPEC §3), one module per kind of command, each adding its commands to
`cli`.

Commands that never talk to Telegram (import, export, stats, migrate, copy-db, backup) run
without BOT_TOKEN; a refusal is one line on stderr and a non-zero exit."""

from bot.cli import data, operations, running, schema  # noqa: F401  (they add their commands)
from bot.cli.group import cli

__all__ = ["cli"]
