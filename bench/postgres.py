"""The PostgreSQL the benchmarks run on: TEST_POSTGRES_URL (the tests' server), a schema of
their own that is dropped afterwards, since other work uses the same server."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TIMEOUT = 3.0


def server_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL") or DEFAULT_URL


def address(url: str) -> str:
    """The URL without credentials or query, for a line anyone may read."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 5432}{parts.path}"


async def why_not(url: str) -> str | None:
    """None when the server answers; else why not, in one line."""
    try:
        connection = await asyncpg.connect(url, timeout=TIMEOUT)
    except Exception as exc:  # refused, timed out, refused the login
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    await connection.close()
    return None


@asynccontextmanager
async def bench_schema(url: str) -> AsyncIterator[str]:
    """A fresh schema and a URL selecting it (asyncpg sends `search_path` as a setting)."""
    schema = f"bench_{secrets.token_hex(5)}"
    connection = await asyncpg.connect(url, timeout=TIMEOUT)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
        parts = urlsplit(url)
        query = [*parse_qsl(parts.query), ("search_path", schema)]
        yield urlunsplit(parts._replace(query=urlencode(query)))
    finally:
        await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await connection.close()
