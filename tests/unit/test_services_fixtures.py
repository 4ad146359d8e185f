"""The server fixtures (tests/support/services.py): a missing server skips with one line saying
how to run the tests, or fails under REQUIRE_SERVICES=1; each test gets its own schema and key
prefix, and nothing of it is left behind."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
import pytest
from redis.asyncio import Redis

from tests.support import services
from tests.support.services import (
    RedisSpace,
    postgres_schema,
    postgres_url_under_test,
    redis_space,
    redis_url_under_test,
    require_postgres,
    require_redis,
)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on (bound, not listening, while the test runs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("require", "server", "url", "variable"),
    [
        (require_redis, "Redis", "redis://127.0.0.1:{port}/0", "TEST_REDIS_URL"),
        (
            require_postgres,
            "PostgreSQL",
            "postgresql://postgres:hunter2@127.0.0.1:{port}/test",
            "TEST_POSTGRES_URL",
        ),
    ],
)
async def test_a_server_that_does_not_answer_skips_with_one_line_or_fails_when_required(
    require: Callable[[str], Awaitable[None]],
    server: str,
    url: str,
    variable: str,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = url.format(port=closed_port)
    monkeypatch.delenv("REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        await require(url)
    line = str(skipped.value)
    assert "\n" not in line
    assert f"{server} not reachable at" in line and f"127.0.0.1:{closed_port}" in line
    assert variable in line and "REQUIRE_SERVICES=1" in line
    assert "hunter2" not in line

    monkeypatch.setenv("REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        await require(url)
    assert str(failed.value) == line


async def test_each_server_is_probed_once_per_test_process(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[str] = []

    async def probe(url: str) -> None:
        probes.append(url)
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(services, "_probe_redis", probe)
    monkeypatch.delenv("REQUIRE_SERVICES", raising=False)
    url = f"redis://127.0.0.1:{closed_port}/0"
    for _ in range(3):
        with pytest.raises(pytest.skip.Exception):
            await require_redis(url)
    assert probes == [url]


async def test_a_url_with_search_path_selects_the_schema_in_asyncpg(postgres_url: str) -> None:
    schema = dict(p.split("=") for p in postgres_url.split("?")[1].split("&"))["search_path"]
    connection = await asyncpg.connect(postgres_url)
    try:
        assert await connection.fetchval("SHOW search_path") == schema
        await connection.execute("CREATE TABLE walk (x int)")
        created = await connection.fetchval(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'walk'"
        )
        assert created == schema
    finally:
        await connection.close()


async def test_each_test_schema_is_fresh_and_dropped_after() -> None:
    url = postgres_url_under_test()
    async with postgres_schema(url) as first, postgres_schema(url) as second:
        assert first != second
        connection = await asyncpg.connect(first)
        try:
            schema = await connection.fetchval("SELECT current_schema()")
            tables = await connection.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema
            )
        finally:
            await connection.close()
    assert tables == 0
    connection = await asyncpg.connect(url)
    try:
        left = await connection.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema
        )
    finally:
        await connection.close()
    assert left == 0


async def test_a_test_key_prefix_is_its_own_and_its_keys_are_deleted_after(
    redis_url: RedisSpace,
) -> None:
    client = Redis.from_url(redis_url.url)
    try:
        await client.set(f"{redis_url.prefix}:kept", "1")  # another test's key: stays
        async with redis_space(redis_url_under_test()) as space:
            assert space.prefix != redis_url.prefix
            await client.set(f"{space.prefix}:fsm:1:1:default:state", "x")
            await client.set(f"{space.prefix}:fsm:1:1:default:data", "{}")
        assert await client.keys(f"{space.prefix}:*") == []
        assert await client.get(f"{redis_url.prefix}:kept") == b"1"
    finally:
        await client.aclose()
