"""`python -m bot import` is all or nothing (SPEC §3): killed with SIGKILL part-way through a
100,000-row file, it leaves the database exactly as it was, and no trace in TMPDIR."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path

from bench import gen_accounts

ROOT = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(rb"([\d,]+) / ([\d,]+) rows")


def cli_env(tmp_path: Path, tmpdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db' / 'bot.sqlite3'}",
        BOT_TOKEN="424242:import-crash-token",  # older versions wanted one for any command
        TMPDIR=str(tmpdir),
        PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT)),
        PYTHONUNBUFFERED="1",
    )
    return env


async def run_import(env: dict[str, str], cwd: Path, path: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "import",
        str(path),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
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

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "import",
        str(big),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
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
