"""A time source for the Sender's Pacer in tests: it moves only when slept on."""

from __future__ import annotations

import asyncio

from bot.clock import FrozenClock


class ManualTime:
    """A time source that moves only when slept on: the Pacer's clock in tests and benchmarks.

    With a FrozenClock, the clock moves along, so recorded timestamps agree.
    """

    def __init__(self, start: float = 0.0, clock: FrozenClock | None = None) -> None:
        self.now = start
        self.clock = clock

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds
            if self.clock is not None:
                self.clock.advance(seconds=seconds)
        await asyncio.sleep(0)
