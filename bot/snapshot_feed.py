"""Fetching the accounts snapshot from BILLING_ACCOUNTS_URL over HTTP (SPEC §10), with the ETag
of the last file loaded (If-None-Match): 304 reads nothing. Implements the services'
`SnapshotFeed`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from bot.services.snapshot import Fetched, NotModified, SnapshotUnavailable

CHUNK = 1 << 16
TIMEOUT = aiohttp.ClientTimeout(total=1800, sock_connect=30, sock_read=120)


def shown(url: str) -> str:
    """The URL as a log line may show it: no credentials, no query (it may hold a token)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


class HttpSnapshotFeed:
    def __init__(self, timeout: aiohttp.ClientTimeout = TIMEOUT) -> None:
        self.timeout = timeout

    async def fetch(self, url: str, etag: str | None, into: Path) -> Fetched | NotModified:
        headers = {"If-None-Match": etag} if etag else {}
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.get(url, headers=headers, allow_redirects=True) as response,
            ):
                if response.status == 304:
                    return NotModified()
                if response.status != 200:
                    raise SnapshotUnavailable(
                        f"{shown(url)} answered {response.status} {response.reason or ''}".strip()
                    )
                with into.open("wb") as out:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        out.write(chunk)
                return Fetched(response.headers.get("ETag"))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # the exception's own text may repeat the whole URL: only its kind is told
            what = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise SnapshotUnavailable(f"cannot read {shown(url)}: {what}") from None
