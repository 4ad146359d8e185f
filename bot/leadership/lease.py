"""The lease, the one for a single process, and the leadership built on any lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

LEASE_POLL = 5.0  # seconds between two tries of a replica that does not lead


class Lease(Protocol):
    """The right to send for the whole installation, held by one process at a time."""

    # False: one process only (SQLite); held from the first take until given up, never polled
    shared: bool
    # the leader confirms (and renews) its lease this often
    keep_every: float
    # set by the lease when it learns unasked that it is gone (a PostgreSQL connection closed)
    lost: asyncio.Event

    async def take(self) -> bool:
        """Try to take it now, without waiting; True when this process holds it."""
        ...

    async def keep(self) -> bool:
        """Confirm (and renew what expires) that it is still held; False: it is lost."""
        ...

    @property
    def held(self) -> bool:
        """What this process knows without asking: held, and not known to be lost."""
        ...

    def free_in(self) -> float | None:
        """Seconds until the present holder's lease runs out, when known (Redis)."""
        ...

    async def give_up(self) -> None:
        """Release it (a clean stop): another replica takes it at its next poll."""
        ...


class LocalLease:
    """One process on one SQLite file: the instance lock already guarantees a single holder."""

    shared = False
    keep_every = LEASE_POLL

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self._held = False

    async def take(self) -> bool:
        self._held = True
        return True

    async def keep(self) -> bool:
        return self._held

    @property
    def held(self) -> bool:
        return self._held

    def free_in(self) -> float | None:
        return None

    async def give_up(self) -> None:
        self._held = False


Callback = Callable[[], Awaitable[None]]


class Leadership:
    """Takes the lease when it is free, keeps it while held, and says when either changes.

    A follower tries every `poll` seconds (sooner when the lease says when it runs out); the
    leader keeps it every `lease.keep_every` seconds and is deposed at once when the lease
    reports it lost. A failure to reach the lease's server counts as not held.
    """

    def __init__(
        self, lease: Lease, *, on_elected: Callback, on_deposed: Callback, poll: float = LEASE_POLL
    ) -> None:
        self.lease = lease
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.poll = poll
        self._leading = False
        self._task: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    async def start(self) -> None:
        """The first try now (SQLite: elected before start-up ends), then the polls."""
        await self._try()
        if self.lease.shared and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        """No more tries nor keeps; the lease stays held until `give_up`."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def give_up(self) -> None:
        await self.stop()
        self._leading = False
        try:
            await self.lease.give_up()
        except Exception as exc:  # it frees itself anyway (connection closed, key expiring)
            log.warning("could not give up the leader lease: %s", _why(exc))

    async def _poll(self) -> None:
        while True:
            if self._leading:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.lease.lost.wait(), self.lease.keep_every)
                await self._keep()
            else:
                free_in = self.lease.free_in()
                wait = self.poll if free_in is None else min(self.poll, free_in + 0.05)
                await asyncio.sleep(max(wait, 0.05))
                await self._try()

    async def _try(self) -> None:
        try:
            taken = await self.lease.take()
        except Exception as exc:
            log.warning("could not ask for the leader lease: %s", _why(exc))
            taken = False
        if taken and not self._leading:
            self._leading = True
            log.info("elected: this process sends reminders, announcements and notices")
            await _guarded(self.on_elected(), "taking the lead")

    async def _keep(self) -> None:
        try:
            kept = self.lease.held and await self.lease.keep()
        except Exception as exc:
            log.warning("could not keep the leader lease: %s", _why(exc))
            kept = False
        if not kept and self._leading:
            self._leading = False
            log.warning("deposed: the leader lease is lost; this process stops sending")
            await _guarded(self.on_deposed(), "stepping down")


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _guarded(work: Awaitable[None], what: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", what)
