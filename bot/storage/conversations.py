"""What the bot asks of a conversation storage beyond aiogram's BaseStorage.

Two implement it: SqliteStorage (bot/storage/fsm.py: in the bot's database, one process) and
RedisConversations (bot/storage/redis_fsm.py: REDIS_URL, any number of replicas). The
composition root picks one; handlers and services never learn which (they see aiogram's
FSMContext, AccountsService a `forget_chat` and the reminders a `mid_walk` through
services/stores.py).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage

from bot.fsm.submission import Submission

# the states of a submission walk begin with this ("Submission:value", ...)
WALK_STATES = f"{Submission.__full_group_name__}:"


class Conversations(BaseStorage):
    # the server conversations stand on besides the database (named in /readyz), if any
    server: str | None = None

    @abstractmethod
    def create_isolation(self) -> BaseEventIsolation:
        """One update of a chat at a time, wherever this storage is shared."""

    @abstractmethod
    async def forget_chat(self, chat_id: int) -> None:
        """Erase the chat's conversation (/forget), wherever it is kept."""

    @abstractmethod
    async def mid_walk(self, chat_ids: Sequence[int]) -> set[int]:
        """Chats among these in the middle of a submission walk, counting changes this
        process has not written yet (a reminder waits for the walk to end)."""

    def flush_soon(self) -> None:
        """After each update: start writing what it changed, if writes are held back."""

    async def flush(self) -> None:
        """Returns once every change made before the call is stored."""

    async def ping(self) -> None:
        """Raises unless `server` answers (the database is asked separately)."""
