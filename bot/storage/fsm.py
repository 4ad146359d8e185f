"""aiogram FSM storage in the bot's SQLite database, so a conversation survives a restart.

Reads are served from a write-through cache: this process is the only writer of the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.db import Database

_MISSING = object()


def _key(key: StorageKey) -> str:
    return (
        f"{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or ''}:"
        f"{key.business_connection_id or ''}:{key.destiny}"
    )


class SqliteStorage(BaseStorage):
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[str | None, dict[str, Any]]] = {}

    async def _load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        name = _key(key)
        cached = self._cache.get(name, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        row = await self.db.fetchone("SELECT state, data FROM fsm_states WHERE key = ?", (name,))
        value = (None, {}) if row is None else (row["state"], json.loads(row["data"]))
        self._cache[name] = value
        return value

    async def _store(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        name = _key(key)
        if state is None and not data:
            await self.db.execute("DELETE FROM fsm_states WHERE key = ?", (name,))
        else:
            await self.db.execute(
                "INSERT INTO fsm_states (key, chat_id, state, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data",
                (name, key.chat_id, state, json.dumps(data, ensure_ascii=False)),
            )
        self._cache[name] = (state, data)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        _, data = await self._load(key)
        await self._store(key, name, data)

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._load(key)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        state, _ = await self._load(key)
        await self._store(key, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._load(key)
        return dict(data)

    def forget_chat(self, chat_id: int) -> None:
        """Drop cached state of a chat whose rows were deleted (see /forget)."""
        for name in [n for n in self._cache if n.split(":")[1] == str(chat_id)]:
            del self._cache[name]

    async def close(self) -> None:
        self._cache.clear()
