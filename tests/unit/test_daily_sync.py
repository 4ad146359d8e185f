"""The daily accounts snapshot (SYNC_TIME): what stops it changes nothing, is logged and told to
the admins; an unchanged file is only logged."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.config import SettingsError, load_settings
from bot.services.snapshot import (
    DailySync,
    Fetched,
    NotModified,
    SnapshotService,
    SnapshotUnavailable,
)


class Sources:
    def __init__(self) -> None:
        self.remembered: list[tuple[str, str | None]] = []

    async def etag(self, url: str) -> str | None:
        return '"v1"'

    async def remember(self, url: str, etag: str | None, now: datetime) -> None:
        self.remembered.append((url, etag))


class Feed:
    def __init__(self, answer: Fetched | NotModified | SnapshotUnavailable) -> None:
        self.answer = answer

    async def fetch(self, url: str, etag: str | None, into: Path) -> Fetched | NotModified:
        if isinstance(self.answer, SnapshotUnavailable):
            raise self.answer
        return self.answer


def daily(feed: Feed, alerts: list[tuple[str, dict[str, Any]]]) -> DailySync[Any]:
    async def alert(key: str, **args: Any) -> None:
        alerts.append((key, args))

    nothing_loaded: Any = None  # the import is never reached here
    service: SnapshotService[Any] = SnapshotService(
        imports=nothing_loaded,
        sources=Sources(),
        feed=feed,
        clock=FrozenClock(datetime(2026, 11, 20, 0, 30, tzinfo=UTC)),
        account_pattern=r"^\d{6,12}$",
        max_close_share=0.1,
    )
    return DailySync(
        service, "https://billing.example/accounts.csv?key=k", full=True, alert_admins=alert
    )


async def test_an_unreachable_url_is_told_to_the_admins_without_its_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    alerts: list[tuple[str, dict[str, Any]]] = []
    reason = "cannot read https://billing.example/accounts.csv: timed out"
    assert await daily(Feed(SnapshotUnavailable(reason)), alerts).run() is None
    assert alerts == [("admin-sync-failed", {"reason": reason})]
    assert "key=k" not in caplog.text and reason in caplog.text


async def test_an_unchanged_snapshot_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    alerts: list[tuple[str, dict[str, Any]]] = []
    caplog.set_level("INFO")
    outcome = await daily(Feed(NotModified()), alerts).run()
    assert outcome is not None and outcome.not_modified
    assert alerts == [] and "unchanged (ETag)" in caplog.text


def test_the_snapshot_settings_default_and_refuse_in_one_line() -> None:
    base: dict[str, Any] = {
        "bot_token": "123:abc",
        "database_url": "sqlite:///x.sqlite3",
        "_env_file": None,
    }
    settings = load_settings(**base)
    assert settings.billing_accounts_url is None and settings.sync_time == time(3, 30)
    assert settings.sync_full and settings.sync_max_close_share == 0.10
    assert load_settings(billing_accounts_url=" ", **base).billing_accounts_url is None
    refused: list[tuple[dict[str, Any], str]] = [
        ({"billing_accounts_url": "ftp://billing/a.csv"}, "BILLING_ACCOUNTS_URL"),
        ({"sync_time": "half past three"}, "SYNC_TIME"),
        ({"sync_max_close_share": "1.5"}, "SYNC_MAX_CLOSE_SHARE"),
    ]
    for values, name in refused:
        with pytest.raises(SettingsError, match=f"^{name} is invalid"):
            load_settings(**values, **base)
