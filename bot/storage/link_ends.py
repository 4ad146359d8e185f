"""Ending an account's links from outside a conversation: its phone changed (an import or a
sync, SPEC §5.8) or a full snapshot closed it (§10). Each chat is told, through a notice."""

from __future__ import annotations

import json

from bot.storage.db import Executor
from bot.storage.dialect import Dialect


async def end_links(
    tx: Executor, accounts: list[int], now: str, *, kind: str = "phone-changed"
) -> int:
    """A changed phone ends the account's links (SPEC §5), and so does closing the account
    (§10): each linked chat gets a notice of ``kind``, falls back to another linked account as
    its current one, and loses the link; a code sent to the old phone dies. The account's
    readings stay. Inside the caller's transaction, before the new phone is written. Returns
    the links ended."""
    if not accounts:
        return 0
    dialect: Dialect = tx.dialect
    changed = dialect.json_ints("accounts")
    params = {"accounts": json.dumps(accounts), "now": now, "kind": kind}
    args = dialect.json_object("'account'", "a.number")
    ended = await tx.execute(
        "INSERT INTO notices (chat_id, kind, args, created_at)"
        f" SELECT l.chat_id, :kind, {args},"
        " :now FROM links AS l JOIN accounts AS a ON a.id = l.account_id"
        f" WHERE l.account_id IN ({changed}) ORDER BY a.id, l.linked_at",
        params,
    )
    await tx.execute(
        "UPDATE chats SET current_account_id = ("
        "  SELECT l.account_id FROM links AS l WHERE l.chat_id = chats.chat_id"
        f"  AND l.account_id NOT IN ({changed}) ORDER BY l.linked_at LIMIT 1"
        f") WHERE current_account_id IN ({changed})",
        params,
    )
    await tx.execute(f"DELETE FROM links WHERE account_id IN ({changed})", params)
    await tx.execute(f"DELETE FROM otp_codes WHERE account_id IN ({changed})", params)
    return ended
