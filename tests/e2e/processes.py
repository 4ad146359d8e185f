"""Helpers for tests that run `python -m bot` as a real process against loopback fakes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "accounts.csv"
TOKEN = "424242:E2E-secret-token"


def bot_env(
    tmp_path: Path, api_url: str, sms_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a bot process on the fakes; without `sms_url`, the console provider."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.isupper() or k in ("PATH", "HOME", "LANG", "PYTHONPATH")
    }
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db' / 'bot.sqlite3'}",
        # a window open on any day the test runs
        WINDOW_START_DAY="1",
        WINDOW_END_DAY="31",
        ADMIN_IDS="777",
        QUIET_HOURS="",  # reminders in these tests may run at night
        HTTP_PORT="0",  # health and metrics on any free port: processes run side by side
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if sms_url:
        env.update(SMS_PROVIDER="smsru", SMSRU_API_ID="e2e-api-id", SMSRU_API_URL=sms_url)
    env.update(extra)
    return env


def database_path(env: dict[str, str]) -> Path:
    return Path(env["DATABASE_URL"].removeprefix("sqlite:///"))


async def start_bot(
    env: dict[str, str], cwd: Path, *args: str, stderr: int = asyncio.subprocess.PIPE
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` in the background, its output piped (`stderr=STDOUT`: both in one)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )


async def start_logged(
    env: dict[str, str], cwd: Path, log: Path, *args: str
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` in the background, its output to `log`: a long run's log would
    fill a pipe nobody reads until the end, and the process would stall writing to it."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, cwd=cwd, stdout=out, stderr=out
        )


async def finish(proc: asyncio.subprocess.Process, within: float) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of a process that must end within `within` seconds.

    One that does not is killed, and the test fails saying what it printed until then.
    """
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(
            f"still running after {within:.0f} s; it printed:\n{out.decode()}{err.decode()}"
        ) from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def run_cli(
    env: dict[str, str], cwd: Path, *args: str, within: float = 120
) -> tuple[int, str, str]:
    return await finish(await start_bot(env, cwd, *args), within)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def free_port() -> int:
    """A loopback port free a moment ago, for a process that must listen where a test knows."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    """A loopback URL nobody listens on: the port stays bound (not listening) meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class SilentServer:
    """A TCP server that accepts every connection and never answers a byte."""

    def __init__(self) -> None:
        self.url = ""
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        self.connected.set()
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SilentServer]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        try:
            yield self
        finally:
            for writer in self._writers:
                writer.close()
            self._server.close()
            await self._server.wait_closed()


def read_every_meter(db: Path, first_value: int, *, t2: int | None = None) -> None:
    """A reading of every meter of the SQLite file `db` for 2026-11: T1 `first_value` + the
    meter's id, T2 `t2` for two-zone meters (none when None), receipt R-<id>."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO readings (meter_id, period, t1, t2, submitted_at, receipt)"
            " SELECT id, '2026-11', :first + id, CASE WHEN tariffs = 2 THEN :t2 END,"
            " '2026-11-20T21:30:00.000000+00:00', 'R-' || id FROM meters",
            {"first": first_value, "t2": t2},
        )
    conn.close()
