"""The servers some tests need, PostgreSQL and Redis: where they are, whether they answer, and
a space of each test's own on them (a fresh schema, a random key prefix), since other test
runs use the same servers at the same time.

Where: TEST_POSTGRES_URL and TEST_REDIS_URL, else the defaults below. A server that does not
answer skips the test with one line saying which and how to run them; under REQUIRE_SERVICES=1
(CI, .ci/run) it fails the test instead. Each server is asked once per test process.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
from redis.asyncio import Redis

REDIS_ENV, POSTGRES_ENV, REQUIRE_ENV = "TEST_REDIS_URL", "TEST_POSTGRES_URL", "REQUIRE_SERVICES"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PROBE_TIMEOUT = 3.0

# url -> why the server does not answer ("" when it does): asked once per test process
_probed: dict[str, str] = {}


@dataclass(frozen=True)
class RedisSpace:
    """A test's own part of Redis: every key it makes starts with `prefix`."""

    url: str
    prefix: str


def redis_url_under_test() -> str:
    return os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL


def postgres_url_under_test() -> str:
    return os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES_URL


def address(url: str) -> str:
    """The URL without credentials or query, for a line anyone may read."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def unavailable(server: str, url: str, env: str, why: str) -> NoReturn:
    """Skip (or, under REQUIRE_SERVICES=1, fail) with one line: which server, how to run."""
    line = (
        f"{server} not reachable at {address(url)} ({why}): start it or set {env}; "
        f"CI sets {REQUIRE_ENV}=1, under which this fails"
    )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(line, pytrace=False)
    pytest.skip(line)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _probe_redis(url: str) -> None:
    client = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT)
    try:
        await asyncio.wait_for(client.ping(), PROBE_TIMEOUT)
    finally:
        await client.aclose()


async def _probe_postgres(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=PROBE_TIMEOUT)
    await connection.close()


async def _require(
    server: str, url: str, env: str, probe: Callable[[str], Awaitable[None]]
) -> None:
    why = _probed.get(url)
    if why is None:
        try:
            await probe(url)
            why = ""
        except Exception as exc:  # refused, timed out, refused our login: not there for tests
            why = _one_line(exc)
        _probed[url] = why
    if why:
        unavailable(server, url, env, why)


async def require_redis(url: str) -> None:
    await _require("Redis", url, REDIS_ENV, _probe_redis)


async def require_postgres(url: str) -> None:
    await _require("PostgreSQL", url, POSTGRES_ENV, _probe_postgres)


@asynccontextmanager
async def redis_space(url: str) -> AsyncIterator[RedisSpace]:
    """A random key prefix on the Redis at `url`; its keys are deleted afterwards."""
    await require_redis(url)
    space = RedisSpace(url, f"t{secrets.token_hex(6)}")
    try:
        yield space
    finally:
        client = Redis.from_url(url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{space.prefix}:*", count=1000)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


def with_search_path(url: str, schema: str) -> str:
    """`url` selecting `schema`: asyncpg sends unknown query parameters as server settings."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[str]:
    """A fresh schema on the PostgreSQL at `url` and a URL selecting it; dropped afterwards."""
    await require_postgres(url)
    schema = f"t_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(url, timeout=PROBE_TIMEOUT)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
    finally:
        await connection.close()
    try:
        yield with_search_path(url, schema)
    finally:
        connection = await asyncpg.connect(url, timeout=PROBE_TIMEOUT)
        try:
            await connection.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await connection.close()


class TcpRelay:
    """A loopback port in front of a server that can be cut off (connections closed, nobody
    listening) and restored on the same port: a Redis that goes away and comes back."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
