"""The pace of all sending: at most BROADCAST_RATE messages in any one second."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """At most `rate` releases in any one-second span, evenly spaced, on an injectable clock.

    Releases are 1/rate apart; a sliding record of the last ⌊rate⌋ releases makes sure no
    span of one second ever holds more, even after a late wake-up. Releases up to CATCH_UP
    late keep the schedule (the late ones go at once), so a loop busy for a moment costs no
    rate; longer idle time is not banked. `hold` pauses everyone
    (a 429 answers for the whole bot, not for one chat). `rate` None: no pacing, only holds.
    """

    MAX_NAP = 0.5  # sleep in short naps, so a stop request is noticed soon
    # at 500 msg/s a release is due every 2 ms: a loop busy rendering the next batch, or
    # answering the sends in flight, wakes later than that all the time
    CATCH_UP = 0.1
    EPSILON = 1e-6

    def __init__(
        self,
        rate: float | None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.interval = 0.0 if rate is None else 1.0 / rate
        per_second = 0 if rate is None or rate < 1 else math.floor(rate)
        self._recent: deque[float] = deque(maxlen=per_second or None)
        self._per_second = per_second
        self._slot = -math.inf
        self._hold_until = -math.inf
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        self._hold_until = max(self._hold_until, self.monotonic() + seconds)

    def _earliest(self) -> float:
        at = max(self._slot + self.interval, self._hold_until)
        if self._per_second and len(self._recent) == self._per_second:
            # strictly later: not even a closed one-second span holds more than ⌊rate⌋
            at = max(at, self._recent[0] + 1.0 + self.EPSILON)
        return at

    async def _wait_until(self, stopped: Callable[[], bool]) -> float | None:
        while True:
            now = self.monotonic()
            at = self._earliest()
            if at <= now:
                return now
            if stopped():
                return None
            await self.sleep(min(at - now, self.MAX_NAP))

    async def wait(self, stopped: Callable[[], bool] = lambda: False) -> bool:
        """Wait for the next slot; False when `stopped()` turned true meanwhile."""
        if self.rate is None:
            return await self._wait_until(stopped) is not None
        async with self._lock:
            if stopped():
                return False
            now = await self._wait_until(stopped)
            if now is None:
                return False
            # keep the schedule after a late wake-up, but bank no idle time
            at = self._earliest()
            self._slot = at if now - at < max(self.interval, self.CATCH_UP) else now
            if self._per_second:
                self._recent.append(now)
            return True
