"""The billing system's accounts snapshot (SPEC §10, issue 12): a full snapshot closes what it
lacks (never deletes), a `replaces` row swaps a meter, the share guard stops a truncated file,
the URL is asked with its ETag; the residents see it in their lists, history and chats."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.domain.periods import Period
from bot.services.export import export_period
from bot.services.gis_export import export_gis
from bot.services.snapshot import SnapshotService, SyncOutcome
from bot.snapshot_feed import HttpSnapshotFeed
from bot.storage.chats import LinkRepository
from bot.storage.imports import import_repository
from bot.storage.readings import ReadingRepository
from bot.storage.snapshot import SnapshotSourceRepository
from tests.harness import BotHarness, ChatClient

SUBMIT = "📝 Передать показания"
METERS = "🔢 Мои счётчики"
HISTORY = "📊 История"
HEADER = "account;phone;address;meter;resource;last_t1;last_date;gis_meter_number;els;replaces"
FLAT = "5000000001"  # keeps its account, has its cold-water meter replaced
GONE = "5000000002"  # absent from the full snapshot: closed
OLD_CW, NEW_CW = "CW-00011111", "CW-00022222"


def account_rows(count: int = 10) -> dict[str, list[str]]:
    """Rows of ``count`` accounts by number: the flat with two meters, the others with one."""
    rows = {
        FLAT: [
            f"{FLAT};+79161234567;ул. Мира, д. 1, кв. 5;{OLD_CW};cold_water;100;2026-10-20;"
            "G-100;50АБ000001;",
            f"{FLAT};+79161234567;ул. Мира, д. 1, кв. 5;HW-00033333;hot_water;50;2026-10-20;;;",
        ]
    }
    for n in range(2, count + 1):
        number = f"50000000{n:02d}"
        rows[number] = [f"{number};+7916000{n:04d};ул. Мира, д. {n};E-{n};electricity;;;;;"]
    return rows


def snapshot(tmp_path: Path, rows: dict[str, list[str]], name: str) -> Path:
    path = tmp_path / name
    lines = [HEADER, *(line for account in rows.values() for line in account)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def service(h: BotHarness, feed: HttpSnapshotFeed | None = None) -> SnapshotService[Any]:
    return SnapshotService(
        imports=import_repository(h.db),
        sources=SnapshotSourceRepository(h.db),
        feed=feed or HttpSnapshotFeed(),
        clock=h.clock,
        account_pattern=r"^\d{6,12}$",
        max_close_share=0.10,
    )


async def loaded(outcome: SyncOutcome) -> SyncOutcome:
    assert outcome.loaded, outcome
    return outcome


async def link(h: BotHarness, chat_id: int, number: str) -> ChatClient:
    account = await h.db.fetchval("SELECT id FROM accounts WHERE number = :n", {"n": number})
    await LinkRepository(h.db).link(chat_id, account, h.clock.now())
    return h.chat(chat_id)


async def send_notices(h: BotHarness) -> None:
    """The bot's start-up: pending notices go out at once (then every 45 s)."""
    await h.app.delivery.jobs.on_startup()
    await h.settle()
    await h.app.delivery.jobs.on_shutdown()


async def open_accounts(h: BotHarness) -> int:
    return int(await h.db.fetchval("SELECT count(*) FROM accounts WHERE closed_at IS NULL"))


async def test_a_full_snapshot_closes_an_account_and_replaces_a_meter(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    sync = service(h)
    await loaded(await sync.from_file(snapshot(tmp_path, account_rows(), "a.csv"), full=True))
    resident = await link(h, 1001, FLAT)
    leaving = await link(h, 1002, GONE)
    await leaving.send("/language")
    await leaving.press("English")
    # this month's reading of the old cold-water meter, through the walk
    await resident.send(SUBMIT)
    assert "···1111" in resident.last_text
    await resident.send("110")
    await resident.press("Подтвердить")
    old_receipt = next(m.text for m in resident.messages if "Расписка №" in m.text)
    await resident.send("/cancel")  # the hot water meter another day

    # the billing centre's next snapshot: the flat's cold water meter replaced, GONE not there
    rows = account_rows()
    del rows[GONE]
    rows[FLAT][0] = (
        f"{FLAT};+79161234567;ул. Мира, д. 1, кв. 5;{NEW_CW};cold_water;5;2026-11-19;"
        f"G-200;50АБ000001;{OLD_CW}"
    )
    outcome = await loaded(await sync.from_file(snapshot(tmp_path, rows, "b.csv"), full=True))
    report = outcome.report
    assert report is not None
    assert (report.accounts_closed, report.meters_replaced, report.links_closed) == (1, 1, 1)
    assert report.meters_closed == 1  # the gone account's (the replaced one counts above)
    assert await h.db.fetchval("SELECT count(*) FROM accounts") == 10  # never deleted
    assert await open_accounts(h) == 9

    await send_notices(h)
    [closed] = [m.text for m in leaving.messages if "was closed at the billing centre" in m.text]
    assert f"<b>{GONE}</b>" in closed and "readings you submitted are kept" in closed
    [replaced] = [m.text for m in resident.messages if "заменён на новый" in m.text]
    assert OLD_CW in replaced and NEW_CW in replaced

    # the resident's list shows the new meter, not the old one
    await resident.send(METERS)
    assert NEW_CW in resident.last_text and OLD_CW not in resident.last_text
    # the old readings are in the history, the old meter marked
    await resident.send(HISTORY)
    history = "\n".join(m.text for m in resident.messages[-3:])
    assert "···1111</b> (снят" in history and "110" in history
    # and in the export
    out = io.StringIO()
    await export_period(ReadingRepository(h.db), Period(2026, 11), out, h.app.settings.tz)
    assert f"{FLAT},{OLD_CW},cold_water,2026-11,110" in out.getvalue()
    gis = io.StringIO()
    await export_gis(
        ReadingRepository(h.db), Period(2026, 11), h.app.settings.tz, out=gis, path=None
    )
    assert "ул. Мира, д. 1, кв. 5;G-100;Холодная вода;11.2026;110,0000000;;;20.11.2026" in (
        gis.getvalue()
    )
    assert old_receipt

    # the new meter starts from its own value: below it is refused, the old one's is no guide
    await resident.send(SUBMIT)
    assert "···2222" in resident.last_text and "5 от 19.11.2026" in resident.last_text
    await resident.send("3")
    assert "3 меньше предыдущих показаний — 5 от 19.11.2026" in resident.last_text
    await resident.send("7")
    await resident.press("Подтвердить")
    assert any("Расписка №" in m.text and "<b>7</b>" in m.text for m in resident.messages[-3:])

    # the closed account's chat is out, and nobody can link the closed account again
    await leaving.send("/start")
    assert "account number" in leaving.last_text.lower()
    assert await h.db.fetchval("SELECT count(*) FROM links WHERE chat_id = 1002") == 0


async def test_a_snapshot_missing_30_percent_stops_without_force_and_proceeds_with_it(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    sync = service(h)
    await loaded(await sync.from_file(snapshot(tmp_path, account_rows(), "a.csv"), full=True))
    await link(h, 1002, GONE)
    rows = account_rows()
    for number in list(rows)[-3:]:  # a truncated file: three of ten accounts missing
        del rows[number]
    truncated = snapshot(tmp_path, rows, "b.csv")

    stopped = await sync.from_file(truncated, full=True)
    assert stopped.report is None and stopped.too_small is not None
    assert (stopped.too_small.closing, stopped.too_small.open_accounts) == (3, 10)
    assert await open_accounts(h) == 10
    assert await h.db.fetchval("SELECT count(*) FROM meters WHERE closed_at IS NOT NULL") == 0
    assert await h.db.fetchval("SELECT count(*) FROM notices") == 0

    # without --full the same file only adds and updates
    assert (await loaded(await sync.from_file(truncated, full=False))).report is not None
    assert await open_accounts(h) == 10

    forced = await loaded(await sync.from_file(truncated, full=True, force=True))
    assert forced.report is not None and forced.report.accounts_closed == 3
    assert await open_accounts(h) == 7
    # the account comes back when a later file lists it again
    await loaded(await sync.from_file(snapshot(tmp_path, account_rows(), "c.csv"), full=True))
    assert await open_accounts(h) == 10


class SnapshotServer:
    """BILLING_ACCOUNTS_URL on loopback: serves a file with an ETag, answers 304 to it."""

    def __init__(self, body: bytes, etag: str) -> None:
        self.body, self.etag = body, etag
        self.asked: list[str | None] = []  # If-None-Match of each request
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.asked.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304)
        return web.Response(body=self.body, headers={"ETag": self.etag})


@pytest.fixture
async def server() -> AsyncIterator[SnapshotServer]:
    fake = SnapshotServer(b"", '"v1"')
    app = web.Application()
    app.router.add_get("/accounts.csv", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}/accounts.csv?token=secret"
    yield fake
    await runner.cleanup()


async def test_an_unchanged_snapshot_is_not_read_again(
    harness: BotHarness, tmp_path: Path, server: SnapshotServer
) -> None:
    h = harness
    sync = service(h)
    server.body = snapshot(tmp_path, account_rows(), "a.csv").read_bytes()

    first = await loaded(await sync.from_url(server.url, full=True))
    assert first.report is not None and first.report.accounts_created == 10
    again = await sync.from_url(server.url, full=True)
    assert again.not_modified and again.report is None
    assert server.asked == [None, '"v1"']

    # a new file under a new ETag is read; one refused (a bad row) is asked for again
    rows = account_rows()
    rows[FLAT][0] = rows[FLAT][0].replace("50АБ000001", "50AB000001")  # Latin letters
    server.body, server.etag = snapshot(tmp_path, rows, "b.csv").read_bytes(), '"v2"'
    refused = await sync.from_url(server.url, full=True)
    assert refused.report is not None and not refused.report.imported
    assert "els" in str(refused.report.errors[0])
    assert server.asked[-1] == '"v1"'
    server.body = snapshot(tmp_path, account_rows(11), "c.csv").read_bytes()
    await loaded(await sync.from_url(server.url, full=True))
    assert server.asked[-1] == '"v1"'
    assert (await sync.from_url(server.url, full=True)).not_modified
    assert server.asked[-1] == '"v2"'


async def test_a_resident_mid_walk_over_a_replaced_meter_is_told(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    sync = service(h)
    await loaded(await sync.from_file(snapshot(tmp_path, account_rows(), "a.csv"), full=False))
    chat = await link(h, 1001, FLAT)
    await chat.send(SUBMIT)
    assert "···1111" in chat.last_text
    await chat.send("120")
    assert "Подтвердить" in str(chat.last.buttons())

    rows = account_rows()
    rows[FLAT][0] = (
        f"{FLAT};+79161234567;ул. Мира, д. 1, кв. 5;{NEW_CW};cold_water;5;2026-11-19;;;{OLD_CW}"
    )
    await loaded(await sync.from_file(snapshot(tmp_path, rows, "b.csv"), full=False))
    await chat.press("Подтвердить")

    assert "заменён на новый" in chat.last_text and "···1111" in chat.last_text
    assert await h.db.fetchval("SELECT count(*) FROM readings") == 0
    await chat.send(SUBMIT)  # the walk starts again, over the new meter
    assert "···2222" in chat.last_text
