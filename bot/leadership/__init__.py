"""One leader among replicas (SPEC §12): only the holder of a lease sends reminders,
announcements and notices.

A `Lease` is taken, kept, checked and given up; `Leadership` polls it (every LEASE_POLL
seconds) and calls `on_elected` when this process takes it and `on_deposed` when it loses it.
When the holder dies, its lease frees itself (PostgreSQL: the session's advisory lock ends with
its connection; Redis: the key expires after its ttl of 10 s) and another replica takes it at
its next poll: within 15 s. The leases:
- `LocalLease`: SQLite, one process (the instance lock already refuses a second): always held.
- `PostgresLease` (bot/leadership/advisory_locks.py): a session advisory lock.
- `RedisLease` (bot/leadership/redis_lease.py): `SET NX PX`, renewed every ttl/3.
"""

from __future__ import annotations

from pathlib import Path

from bot.leadership.lease import LEASE_POLL, Leadership, Lease, LocalLease
from bot.services.owners import DeliveryOwner, ProcessOwner

__all__ = ["LEASE_POLL", "Leadership", "Lease", "LocalLease", "lease_for", "open_owner"]


def _on_postgresql(database_url: str) -> bool:
    return database_url.startswith(("postgresql:", "postgresql+asyncpg:", "postgres:"))


def lease_for(
    database_url: str, redis_url: str | None = None, redis_prefix: str = "meterbot"
) -> Lease:
    """Redis where it is the shared part, else PostgreSQL's advisory lock, else (SQLite) the
    process itself. Connects at the first take. The lease is the installation's: under its
    Redis prefix, or keyed by its PostgreSQL schema."""
    if redis_url:
        from bot.leadership.redis_lease import RedisLease

        return RedisLease(redis_url, key=f"{redis_prefix}:leader")
    if _on_postgresql(database_url):
        from bot.leadership.advisory_locks import PostgresLease, installation_key

        return PostgresLease(database_url, key=installation_key("leader", database_url))
    return LocalLease()


async def open_owner(database_url: str, folder: Path | None) -> DeliveryOwner:
    """What tells the sender which runs' processes are alive: an advisory lock per process on
    PostgreSQL (held from now on), else a file lock per process in `folder` (SQLite)."""
    if _on_postgresql(database_url):
        from bot.leadership.advisory_locks import PostgresOwner

        return await PostgresOwner.open(database_url)
    return ProcessOwner(folder)
