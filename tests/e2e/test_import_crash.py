"""`python -m bot import` is all or nothing (SPEC §3): killed with SIGKILL part-way through a
100,000-row file, it leaves the database exactly as it was, and no trace in TMPDIR; on SQLite
and on PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import sqlite3
from pathlib import Path

import asyncpg

from bench import gen_accounts
from bot.storage import schema
from tests.e2e.processes import ROOT, start_bot

PROGRESS = re.compile(rb"([\d,]+) / ([\d,]+) rows")


def cli_env(tmp_path: Path, tmpdir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG")}
    env.update(
        DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'db' / 'bot.sqlite3'}",
        BOT_TOKEN="424242:import-crash-token",  # older versions wanted one for any command
        TMPDIR=str(tmpdir),
        PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT)),
        PYTHONUNBUFFERED="1",
    )
    return env


async def run_import(env: dict[str, str], cwd: Path, path: Path) -> tuple[int, str]:
    proc = await start_bot(env, cwd, "import", str(path), stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def dump(db: Path) -> tuple[int, str]:
    """Every table's schema and rows, as SQL, and a checksum of it."""
    conn = sqlite3.connect(db)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        text = "\n".join(conn.iterdump())
    finally:
        conn.close()
    return version, hashlib.sha256(text.encode()).hexdigest() + f" ({len(text)} chars)"


def seed_residents(db: Path) -> None:
    """A linked chat, a submitted reading: what a re-import must never lose halfway."""
    conn = sqlite3.connect(db)
    with conn:
        [[account_id]] = conn.execute("SELECT id FROM accounts ORDER BY id LIMIT 1")
        [[meter_id]] = conn.execute(
            "SELECT id FROM meters WHERE account_id = ? LIMIT 1", (account_id,)
        )
        at = "2026-11-16T08:00:00.000000+00:00"
        conn.execute("INSERT INTO chats (chat_id, locale, created_at) VALUES (501, 'ru', ?)", (at,))
        conn.execute(
            "INSERT INTO links (chat_id, account_id, linked_at) VALUES (501, ?, ?)",
            (account_id, at),
        )
        conn.execute(
            "INSERT INTO readings (meter_id, period, t1, submitted_at, chat_id, receipt)"
            " VALUES (?, '2026-11', 12345, ?, 501, '2611-000001')",
            (meter_id, at),
        )
    conn.close()


async def test_an_import_killed_part_way_leaves_the_database_as_it_was_and_nothing_in_tmpdir(
    tmp_path: Path,
) -> None:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = cli_env(tmp_path, tmpdir)
    db = tmp_path / "db" / "bot.sqlite3"

    # the database before: 1,000 accounts of an earlier file, a linked chat, a reading
    earlier = tmp_path / "earlier.csv"
    gen_accounts.write(earlier, 1_000, 2, ";")
    code, out = await run_import(env, tmp_path, earlier)
    assert code == 0, out
    seed_residents(db)
    before = dump(db)

    # the new file: 40,000 accounts, the first 1,000 of them the same accounts, changed
    big = tmp_path / "accounts.csv"
    rows = gen_accounts.write(big, 40_000, 1, ";")
    assert rows >= 100_000

    await kill_part_way(env, tmp_path, big)

    assert dump(db) == before
    assert sorted(p.name for p in tmpdir.iterdir()) == []

    # and the same import, run again to the end, loads the whole file
    code, out = await run_import(env, tmp_path, big)
    assert code == 0, out
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 40_000
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 1
    finally:
        conn.close()
    assert sorted(p.name for p in tmpdir.iterdir()) == []


async def kill_part_way(env: dict[str, str], cwd: Path, path: Path) -> None:
    """Run the import of ``path`` and SIGKILL it part-way through writing."""
    proc = await start_bot(env, cwd, "import", str(path))
    assert proc.stderr is not None
    seen = b""
    try:
        while True:
            chunk = await asyncio.wait_for(proc.stderr.read(4096), 300)
            assert chunk, f"the import ended before writing half: {seen.decode()}"
            seen += chunk
            progress = [
                (int(done.replace(b",", b"")), int(total.replace(b",", b"")))
                for done, total in PROGRESS.findall(seen)
            ]
            if progress and progress[-1][0] >= 10_000 and progress[-1][0] < progress[-1][1]:
                break  # part-way through writing: two batches down, many to go
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL


async def pg_dump(url: str) -> dict[str, tuple[int, str]]:
    """Every table of the schema: its rows' count and a checksum of them."""
    conn = await asyncpg.connect(url.split("?", 1)[0], server_settings=search_path(url))
    try:
        sums = {}
        for table in schema.metadata.sorted_tables:
            count, digest = await conn.fetchrow(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS TEXT), '|'"
                f" ORDER BY CAST(t AS TEXT)), '')) FROM {table.name} AS t"
            )
            sums[table.name] = (count, digest)
        return sums
    finally:
        await conn.close()


def search_path(url: str) -> dict[str, str]:
    return {"search_path": url.rsplit("search_path=", 1)[1]}


async def pg_seed_residents(url: str) -> None:
    """`seed_residents` on PostgreSQL."""
    conn = await asyncpg.connect(url.split("?", 1)[0], server_settings=search_path(url))
    try:
        async with conn.transaction():
            account_id = await conn.fetchval("SELECT id FROM accounts ORDER BY id LIMIT 1")
            meter_id = await conn.fetchval(
                "SELECT id FROM meters WHERE account_id = $1 LIMIT 1", account_id
            )
            at = "2026-11-16T08:00:00.000000+00:00"
            await conn.execute(
                "INSERT INTO chats (chat_id, locale, created_at) VALUES (501, 'ru', $1)", at
            )
            await conn.execute(
                "INSERT INTO links (chat_id, account_id, linked_at) VALUES (501, $1, $2)",
                account_id,
                at,
            )
            await conn.execute(
                "INSERT INTO readings (meter_id, period, t1, submitted_at, chat_id, receipt)"
                " VALUES ($1, '2026-11', 12345, $2, 501, '2611-000001')",
                meter_id,
                at,
            )
    finally:
        await conn.close()


async def test_an_import_killed_part_way_on_postgresql_leaves_every_table_as_it_was(
    tmp_path: Path, postgres_url: str
) -> None:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = cli_env(tmp_path, tmpdir, postgres_url)
    earlier = tmp_path / "earlier.csv"
    gen_accounts.write(earlier, 1_000, 2, ";")
    code, out = await run_import(env, tmp_path, earlier)
    assert code == 0, out
    await pg_seed_residents(postgres_url)
    before = await pg_dump(postgres_url)
    big = tmp_path / "accounts.csv"
    assert gen_accounts.write(big, 40_000, 1, ";") >= 100_000

    await kill_part_way(env, tmp_path, big)

    assert await pg_dump(postgres_url) == before
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    # the killed load's lock went with its connection: the same import runs to the end
    code, out = await run_import(env, tmp_path, big)
    assert code == 0, out
    after = await pg_dump(postgres_url)
    assert (after["accounts"][0], after["readings"][0]) == (40_000, 1)
