"""A chat's own settings: which kinds of reminder it gets."""

from __future__ import annotations

from bot.clock import Clock
from bot.domain.models import REMINDER_KINDS, Chat
from bot.services.stores import ChatStore


def _enabled(chat: Chat | None, kind: str) -> bool:
    """A chat not yet stored gets every reminder (the table's default)."""
    return True if chat is None else bool(getattr(chat, f"remind_{kind}"))


class ChatSettingsService:
    def __init__(self, *, chats: ChatStore, clock: Clock) -> None:
        self.chats = chats
        self.clock = clock

    async def reminders(self, chat_id: int) -> list[tuple[str, bool]]:
        """(kind, enabled) for every kind of reminder, in the order they are shown."""
        chat = await self.chats.get(chat_id)
        return [(kind, _enabled(chat, kind)) for kind in REMINDER_KINDS]

    async def toggle_reminder(self, chat_id: int, kind: str) -> bool:
        """Turn a kind of reminder off when on, on when off; False for an unknown kind."""
        if kind not in REMINDER_KINDS:
            return False
        await self.chats.ensure(chat_id, self.clock.now())
        chat = await self.chats.get(chat_id)
        await self.chats.set_reminder(chat_id, kind, not _enabled(chat, kind))
        return True
