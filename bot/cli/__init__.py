"""Command line: `python -m bot [run|import|export|send-reminders|stats|migrate|copy-db|
set-webhook|sync|outbox|backup]` (SPEC §3), one module per kind of command, each adding its
commands to `cli`.

Commands that never talk to Telegram (import, export, stats, migrate, copy-db, sync, outbox,
backup) run without BOT_TOKEN; a refusal is one line on stderr and a non-zero exit."""

# each adds its commands to `cli`
from bot.cli import billing, billing_sync, data, operations, running, schema  # noqa: F401
from bot.cli.group import cli

__all__ = ["cli"]
