"""The leader lease on Redis: a key holding the leader's random token, with an expiry.

Taken by `SET key token NX PX ttl`, renewed every ttl/3 by a script that extends it only while
it still holds this token, released by one that deletes it only then. A leader that dies stops
renewing and the key expires after at most `ttl` (10 s); a follower tries again the moment it
expires (the key's remaining time is read at each failed take), so the lead changes hands
within 15 s. A renewal that fails or cannot reach Redis deposes the leader at once; this
process also counts the lease lost when `ttl` has passed since the last renewal it sent.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable

from redis.asyncio import Redis

DEFAULT_TTL = 10.0
LEADER_KEY = "meter-readings-bot:leader"

# take: set when free, or extend when this token already holds it (a renewal whose answer
# was lost); else how many ms the other holder has left
_TAKE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'taken' end
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 'taken'
end
return redis.call('pttl', KEYS[1])
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisLease:
    shared = True

    def __init__(
        self,
        url: str,
        *,
        key: str = LEADER_KEY,
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self.ttl = ttl
        self.keep_every = ttl / 3
        self.token = secrets.token_hex(16)
        self.lost = asyncio.Event()  # never set unasked: a renewal finds out
        self.monotonic = monotonic
        # an answer slower than a third of the ttl would come after the lease's end
        self.redis = Redis.from_url(
            url, socket_timeout=self.keep_every, socket_connect_timeout=self.keep_every
        )
        self._valid_until = -math.inf
        self._free_in: float | None = None
        self._ttl_ms = str(max(1, round(ttl * 1000)))

    async def take(self) -> bool:
        sent = self.monotonic()
        left = await self.redis.eval(_TAKE, 1, self.key, self.token, self._ttl_ms)
        if left == b"taken":
            self._valid_until = sent + self.ttl
            self._free_in = None
            return True
        self._valid_until = -math.inf
        # -1: a key without expiry, not one of ours: try again at the next poll
        self._free_in = int(left) / 1000 if int(left) >= 0 else None
        return False

    async def keep(self) -> bool:
        sent = self.monotonic()
        try:
            renewed = await asyncio.wait_for(
                self.redis.eval(_RENEW, 1, self.key, self.token, self._ttl_ms), self.keep_every
            )
        except BaseException:
            self._valid_until = -math.inf
            raise
        if int(renewed) != 1:
            self._valid_until = -math.inf
            return False
        self._valid_until = sent + self.ttl
        return True

    @property
    def held(self) -> bool:
        return self.monotonic() < self._valid_until

    def free_in(self) -> float | None:
        return self._free_in

    async def give_up(self) -> None:
        was_held = self.held
        self._valid_until = -math.inf
        try:
            if was_held:
                await self.redis.eval(_RELEASE, 1, self.key, self.token)
        finally:
            await self.redis.aclose()
