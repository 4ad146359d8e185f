"""The updates in hand, so a stop can let them finish: each is held from the moment it enters
the dispatcher (bot/dispatcher.py, `feed_update`), before aiogram's chat lock and error
answer, until its error answer, if any, is sent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

UNWIND_SECONDS = 1.0  # an abandoned update rolls back its transaction and lets go of its lock


class UpdatesInHand:
    def __init__(self, grace: float) -> None:
        self.grace = grace  # seconds the updates in hand have to finish at a stop
        self._tasks: dict[asyncio.Task[Any], int] = {}  # the task feeding it → update id
        self._idle = asyncio.Event()
        self._idle.set()

    @contextmanager
    def hold(self, update_id: int) -> Iterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = update_id
        self._idle.clear()
        try:
            yield
        finally:
            del self._tasks[task]
            if not self._tasks:
                self._idle.set()

    async def finish(self) -> None:
        """Wait `grace` seconds for the updates in hand; cancel those left, with one line."""
        if not self._tasks:
            return
        log.info("stopping: %d update(s) in hand, waiting up to %g s", len(self._tasks), self.grace)
        if await self._idle_within(self.grace):
            return
        left = {t: u for t, u in self._tasks.items() if t is not asyncio.current_task()}
        log.warning(
            "stopping: abandoned %d update(s) still in hand after %g s: %s",
            len(left),
            self.grace,
            ", ".join(str(u) for u in sorted(left.values())),
        )
        for task in left:
            task.cancel()
        await self._idle_within(UNWIND_SECONDS)

    async def _idle_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True
