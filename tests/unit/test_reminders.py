"""Reminders (SPEC §7): each kind reaches exactly the chats it names, once, in their language."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.methods import Response, SendMessage, TelegramMethod

from bot.domain.windows import SubmissionWindow
from bot.keyboards.callbacks import SubmitStartCb
from bot.notifications.pacer import Pacer
from bot.services.reminders import format_report, plan_window_reminders
from tests.harness import BotHarness, start_harness
from tests.seed import M, add_account
from tests.support.time import ManualTime

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

MSK = ZoneInfo("Europe/Moscow")


def at(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def manual_time(h: BotHarness) -> ManualTime:
    """The sender's pace measured on a clock that moves only when it sleeps."""
    time = ManualTime(clock=h.clock)
    h.app.delivery.sender.pacer = Pacer(
        h.app.settings.broadcast_rate, monotonic=time.monotonic, sleep=time.sleep
    )
    return time


Start = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    started: list[BotHarness] = []

    async def _start(now: datetime, **overrides: Any) -> BotHarness:
        h = await start_harness(tmp_path, now=now, **overrides)
        manual_time(h)
        started.append(h)
        return h

    yield _start
    for h in started:
        await h.close()


async def account(h: BotHarness, number: str, *meters: M, chats: tuple[int, ...] = ()) -> int:
    account_id = await add_account(h.db, number, "+7916" + number[-7:], *meters)
    for chat_id in chats:
        await h.app.storage.links.link(chat_id, account_id, h.clock.now())
    return account_id


async def submit(h: BotHarness, account_id: int, serial: str, period: str) -> None:
    meter_id = await h.db.fetchval(
        "SELECT id FROM meters WHERE account_id = ? AND serial = ?", (account_id, serial)
    )
    await h.db.execute(
        "INSERT INTO readings (meter_id, period, t1, submitted_at, receipt)"
        " VALUES (?, ?, 1, '2026-11-20T00:00:00+00:00', ?)",
        (meter_id, period, f"r-{meter_id}-{period}"),
    )


async def select_recipients(h: BotHarness, kind: str) -> str:
    """Create today's campaign of this kind and record its recipients, sending nothing."""
    [plan] = await h.app.delivery.reminders.plan(h.app.delivery.reminders.today(), [kind])
    await h.app.storage.deliveries.create_campaign(
        plan.id, plan.kind, plan.params, h.clock.now(), expires_on=plan.expires_on
    )
    campaign = await h.app.storage.deliveries.get(plan.id)
    assert campaign is not None
    await h.app.delivery.reminders._materialise(campaign)
    return plan.id


def texts(h: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in h.session.messages.get(chat_id, [])]


def reached(h: BotHarness) -> set[int]:
    return {chat_id for chat_id, sent in h.session.messages.items() if sent}


# --- opening -------------------------------------------------------------------------------


async def test_opening_goes_to_linked_active_chats_with_it_on_whose_window_opens(
    start: Start,
) -> None:
    h = await start(at(11, 15))
    family = await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101, 102))
    await account(h, "5000000002", M("EL-0002", "electricity", window=(20, 25)), chats=(103,))
    await account(h, "5000000003", M("CW-0003", "cold_water"), chats=(104,))
    await account(h, "5000000004", M("CW-0004", "cold_water"), chats=(105,))
    await account(h, "5000000005", M("CW-0005", "cold_water"))  # nobody linked
    await h.app.storage.chats.set_active(104, False)
    await h.app.storage.chats.set_reminder(105, "opening", False)

    report = await h.app.delivery.reminders.run_due(["opening"])

    assert reached(h) == {101, 102}
    for chat_id in (101, 102):
        [text] = texts(h, chat_id)
        assert "Открыт приём показаний за ноябрь 2026" in text
        assert "5000000001" in text and "до 3 декабря" in text
        [(label, data)] = h.session.messages[chat_id][0].buttons()
        assert SubmitStartCb.unpack(data).account_id == family
        assert "Передать показания" in label
    assert report.totals.sent == 2
    assert "opening:2026-11-15: sent 2" in format_report(report)


async def test_running_the_job_twice_sends_nothing_new(start: Start) -> None:
    h = await start(at(11, 15))
    await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101,))
    await h.app.delivery.reminders.run_due()
    calls = len(h.session.calls_of(SendMessage))
    h.clock.advance(hours=2)
    second = await h.app.delivery.reminders.run_due()
    assert len(h.session.calls_of(SendMessage)) == calls == 1
    assert second.totals.sent == 0
    assert "nothing to send" in format_report(second)


async def test_a_chat_linked_after_the_opening_gets_it_at_the_next_run(start: Start) -> None:
    h = await start(at(11, 15))
    account_id = await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101,))
    await h.app.delivery.reminders.run_due()
    await h.app.storage.links.link(
        102, account_id, h.clock.now()
    )  # a family member, later that day
    h.clock.set(at(11, 16))
    report = await h.app.delivery.reminders.run_due()
    assert report.totals.sent == 1
    assert len(texts(h, 101)) == 1 and len(texts(h, 102)) == 1


async def test_a_reminder_due_before_anyone_linked_reaches_the_first_to_link(
    start: Start,
) -> None:
    h = await start(at(11, 15))  # the bot's first day: nobody has linked yet
    account_id = await account(h, "5000000001", M("CW-0001", "cold_water"))
    assert (await h.app.delivery.reminders.run_due()).totals.sent == 0
    await h.app.storage.links.link(101, account_id, h.clock.now())
    h.clock.set(at(11, 16))
    await h.app.delivery.reminders.run_due()
    assert len(texts(h, 101)) == 1


async def test_one_opening_message_names_every_account_of_the_chat(start: Start) -> None:
    h = await start(at(11, 15))
    first = await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101,))
    second = await account(h, "5000000002", M("HW-0002", "hot_water"), chats=(101,))
    await h.app.delivery.reminders.run_due(["opening"])
    [sent] = h.session.messages[101]
    assert "5000000001" in sent.text and "5000000002" in sent.text
    accounts = [SubmitStartCb.unpack(data).account_id for _, data in sent.buttons()]
    assert accounts == [first, second]


async def test_a_meter_with_its_own_window_is_reminded_on_its_own_day(start: Start) -> None:
    h = await start(at(11, 15))
    await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101,))
    await account(h, "5000000002", M("EL-0002", "electricity", window=(20, 25)), chats=(102,))
    await h.app.delivery.reminders.run_due(["opening"])
    assert reached(h) == {101}

    h.clock.set(at(11, 20))
    report = await h.app.delivery.reminders.run_due(["opening"])
    sent = {r.campaign_id: r.counts.sent for r in report.campaigns}
    assert sent == {"opening:2026-11-15": 0, "opening:2026-11-20": 1}
    assert len(texts(h, 101)) == 1 and len(texts(h, 102)) == 1
    assert "до 25 ноября" in texts(h, 102)[0]


async def test_a_meter_imported_later_with_the_same_opening_day_joins_the_reminder(
    start: Start,
) -> None:
    h = await start(at(11, 15))
    await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101,))
    await h.app.delivery.reminders.run_due()
    # the next import brings a meter with its own days, opening on the 15th as well
    await account(h, "5000000002", M("EL-0002", "electricity", window=(15, 25)), chats=(102,))
    h.clock.set(at(11, 16))
    await h.app.delivery.reminders.run_due()
    assert len(texts(h, 101)) == 1
    [text] = texts(h, 102)
    assert "до 25 ноября" in text


async def test_a_missed_opening_goes_out_while_the_window_is_still_open(start: Start) -> None:
    h = await start(at(11, 18))  # the bot was down on the 15th
    await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101,))
    report = await h.app.delivery.reminders.run_due(["opening"])
    assert [r.campaign_id for r in report.campaigns] == ["opening:2026-11-15"]
    assert len(texts(h, 101)) == 1


async def test_no_opening_after_the_window_closed(start: Start) -> None:
    h = await start(at(12, 4))  # the window 15 → 3 closed yesterday; the next opens on the 15th
    await account(h, "5000000001", M("CW-0001", "cold_water"), chats=(101,))
    report = await h.app.delivery.reminders.run_due()
    assert report.campaigns == [] and reached(h) == set()


# --- closing -------------------------------------------------------------------------------


async def test_closing_names_the_meters_still_without_a_reading(start: Start) -> None:
    h = await start(at(12, 1), closing_reminder_days=2)
    partly = await account(
        h, "5000000001", M("CW-1111", "cold_water"), M("HW-2222", "hot_water"), chats=(101,)
    )
    done = await account(h, "5000000002", M("CW-3333", "cold_water"), chats=(102,))
    await account(h, "5000000003", M("CW-4444", "cold_water"), chats=(103,))
    await account(h, "5000000004", M("CW-5555", "cold_water"), chats=(104,))
    await account(h, "5000000005", M("EL-6666", "electricity", window=(20, 25)), chats=(105,))
    await submit(h, partly, "CW-1111", "2026-11")
    await submit(h, done, "CW-3333", "2026-11")
    await submit(h, done, "CW-3333", "2026-10")
    await h.app.storage.chats.set_reminder(103, "closing", False)
    await h.app.storage.chats.set_active(104, False)

    report = await h.app.delivery.reminders.run_due(["closing"])

    assert [r.campaign_id for r in report.campaigns] == ["closing:2026-12-03"]
    assert reached(h) == {101}
    [text] = texts(h, 101)
    assert "Осталось 2 дня" in text and "до 3 декабря" in text
    assert "…2222" in text and "Горячая вода" in text
    assert "…1111" not in text
    [(_, data)] = h.session.messages[101][0].buttons()
    assert SubmitStartCb.unpack(data).account_id == partly


async def test_closing_is_not_sent_before_its_day(start: Start) -> None:
    h = await start(at(11, 30), closing_reminder_days=2)
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    report = await h.app.delivery.reminders.run_due(["closing"])
    assert report.campaigns == [] and reached(h) == set()


async def test_closing_reminder_days_zero_turns_it_off(start: Start) -> None:
    h = await start(at(12, 3), closing_reminder_days=0)
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    report = await h.app.delivery.reminders.run_due(["closing"])
    assert report.campaigns == [] and reached(h) == set()


async def test_a_reading_submitted_meanwhile_drops_the_closing_reminder(start: Start) -> None:
    h = await start(at(12, 1))
    first = await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    await account(h, "5000000002", M("CW-2222", "cold_water"), chats=(102,))
    campaign_id = await select_recipients(h, "closing")
    await submit(h, first, "CW-1111", "2026-11")  # between selection and sending
    await h.app.delivery.reminders.run_due(["closing"])
    assert reached(h) == {102}
    assert (await h.app.storage.deliveries.statuses(campaign_id)) == {101: "skipped", 102: "sent"}


# --- verification --------------------------------------------------------------------------


async def test_verification_once_per_meter_and_due_date(start: Start) -> None:
    h = await start(at(11, 20), verification_reminder_days=30)
    await account(
        h,
        "5000000001",
        M("HW-1234", "hot_water", verified_until=date(2026, 12, 20)),
        M("CW-5678", "cold_water", verified_until=date(2026, 12, 21)),  # 31 days: not yet
        M("EL-9999", "electricity", verified_until=date(2026, 11, 19)),  # lapsed yesterday
        chats=(101,),
    )
    await account(
        h, "5000000002", M("GS-4321", "gas", verified_until=date(2026, 12, 1)), chats=(102,)
    )
    await h.app.storage.chats.set_reminder(102, "verification", False)

    report = await h.app.delivery.reminders.run_due(["verification"])
    assert [r.campaign_id for r in report.campaigns] == [
        f"verification:{await meter_id(h, 'HW-1234')}:2026-12-20"  # GS-4321's chat: off
    ]
    [text] = texts(h, 101)
    assert "Горячая вода" in text and "…1234" in text and "20 декабря" in text
    assert "осталось 30 дней" in text
    assert "не принимаются" in text and "по нормативу" in text
    assert h.session.messages[101][0].buttons() == []
    assert reached(h) == {101}

    h.clock.advance(days=1)  # the other meter is due now; the first one is not sent again
    await h.app.delivery.reminders.run_due(["verification"])
    assert len(texts(h, 101)) == 2 and "…5678" in texts(h, 101)[1]
    await h.app.delivery.reminders.run_due(["verification"])
    assert len(texts(h, 101)) == 2


async def test_a_new_due_date_is_a_new_verification_reminder(start: Start) -> None:
    h = await start(at(11, 20), verification_reminder_days=30)
    await account(
        h, "5000000001", M("HW-1234", "hot_water", verified_until=date(2026, 12, 1)), chats=(101,)
    )
    await h.app.delivery.reminders.run_due(["verification"])
    # verified again, the billing system moved the date; it falls due again later
    await h.db.execute("UPDATE meters SET verified_until = '2026-12-15'")
    await h.app.delivery.reminders.run_due(["verification"])
    assert len(texts(h, 101)) == 2 and "15 декабря" in texts(h, 101)[1]


async def test_verification_reminder_days_zero_turns_it_off(start: Start) -> None:
    h = await start(at(11, 20), verification_reminder_days=0)
    await account(
        h, "5000000001", M("HW-1234", "hot_water", verified_until=date(2026, 11, 25)), chats=(101,)
    )
    report = await h.app.delivery.reminders.run_due(["verification"])
    assert report.campaigns == [] and reached(h) == set()


async def meter_id(h: BotHarness, serial: str) -> int:
    return int(await h.db.fetchval("SELECT id FROM meters WHERE serial = ?", (serial,)))


# --- language ------------------------------------------------------------------------------


async def test_reminders_are_rendered_in_each_chats_language(start: Start) -> None:
    h = await start(at(12, 1), closing_reminder_days=2)
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101, 102, 103))
    await h.app.storage.chats.set_locale(101, "en", h.clock.now())
    await h.app.storage.chats.set_locale(102, "ru", h.clock.now())
    await h.app.delivery.reminders.run_due(["opening", "closing"])

    opening_en, closing_en = texts(h, 101)
    assert "Meter readings for November 2026 are being accepted" in opening_en
    assert "account 5000000001" in opening_en and "December 3" in opening_en
    assert "2 days left" in closing_en and "Cold water no. …1111" in closing_en
    assert h.session.messages[101][0].buttons()[0][0] == "📝 Submit readings"
    for chat_id in (102, 103):  # chosen Russian; nothing stored → DEFAULT_LOCALE
        opening_ru, closing_ru = texts(h, chat_id)
        assert "Открыт приём показаний" in opening_ru and "Осталось 2 дня" in closing_ru


async def test_default_locale_applies_to_chats_without_a_language(start: Start) -> None:
    h = await start(at(11, 15), default_locale="en")
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    await h.app.delivery.reminders.run_due(["opening"])
    assert "being accepted" in texts(h, 101)[0]


async def test_resident_text_is_escaped(start: Start) -> None:
    h = await start(at(11, 15))
    await add_account(h.db, "5000000001", "+79160000001", M("CW<b>", "cold_water"), address="<i>")
    account_id = int(await h.db.fetchval("SELECT id FROM accounts"))
    await h.app.storage.links.link(101, account_id, h.clock.now())
    await h.app.delivery.reminders.run_due(["opening"])
    assert "&lt;i&gt;" in texts(h, 101)[0]


# --- resuming ------------------------------------------------------------------------------


async def test_an_interrupted_reminder_resumes_on_start_and_sends_none_twice(start: Start) -> None:
    h = await start(at(11, 15), broadcast_rate=5)
    for n in range(12):
        await account(h, f"50000000{n:02d}", M(f"CW-{n:04d}", "cold_water"), chats=(200 + n,))
    sends = 0

    async def count_and_die(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        nonlocal sends
        result = await make_request(bot, method)
        sends += 1
        if sends == 5:
            h.app.delivery.sender.request_stop()  # the process is told to stop mid-run
        return result

    h.app.bot.session.middleware(count_and_die)
    first = await h.app.delivery.reminders.run_due(["opening"])
    assert first.totals.sent == 5 and not first.campaigns[0].finished

    h.app.delivery.sender._stopping = False  # a new process
    h.clock.set(at(11, 15, 9, 30))  # restarted before REMINDER_TIME: resume only
    second = await h.app.delivery.reminders.on_start()
    assert second.campaigns[0].resumed and second.totals.sent == 7
    assert all(len(texts(h, 200 + n)) == 1 for n in range(12))


async def test_what_the_window_no_longer_needs_is_dropped_after_it_closed(start: Start) -> None:
    h = await start(at(11, 15))
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    await select_recipients(h, "opening")  # the process died before sending anything
    h.clock.set(at(12, 5))
    report = await h.app.delivery.reminders.on_start()
    assert report.campaigns[0].expired == 1 and reached(h) == set()


async def test_on_start_after_reminder_time_runs_todays_job(start: Start) -> None:
    h = await start(at(11, 15, 11))
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    await h.app.delivery.reminders.on_start()
    assert len(texts(h, 101)) == 1


async def test_on_start_before_reminder_time_waits_for_the_job(start: Start) -> None:
    h = await start(at(11, 15, 9, 59))
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    await h.app.delivery.reminders.on_start()
    assert reached(h) == set()


# --- planning ------------------------------------------------------------------------------


def test_windows_opening_the_same_day_share_one_campaign() -> None:
    default = SubmissionWindow(15, 3)
    plans = plan_window_reminders(
        date(2026, 11, 15), ["opening"], [(None, None), (15, 25), (20, 25)], default, 2
    )
    [plan] = plans
    assert plan.id == "opening:2026-11-15"
    assert plan.expires_on == date(2026, 12, 3)
    assert [(r["window_start"], r["window_end"]) for r in plan.params["rules"]] == [
        (None, None),
        (15, 25),
    ]


def test_closing_is_due_from_its_day_until_the_window_closes() -> None:
    default = SubmissionWindow(15, 3)

    def due(day: date) -> list[str]:
        return [p.id for p in plan_window_reminders(day, ["closing"], [(None, None)], default, 2)]

    assert due(date(2026, 11, 30)) == []
    assert due(date(2026, 12, 1)) == due(date(2026, 12, 3)) == ["closing:2026-12-03"]
    assert due(date(2026, 12, 4)) == []


# --- quiet hours ---------------------------------------------------------------------------


async def test_a_restart_after_reminder_time_in_quiet_hours_waits_for_their_end(
    start: Start,
) -> None:
    h = await start(at(11, 15, 23, 0))  # QUIET_HOURS by default 21:00-09:00
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    report = await h.app.delivery.reminders.on_start()
    assert reached(h) == set()
    [result] = report.campaigns
    assert result.recipients == 1 and result.quiet_until == at(11, 16, 9, 0)
    assert "paused: quiet hours until 2026-11-16 09:00" in format_report(report)

    h.clock.set(at(11, 16, 8, 59))  # the resume job, every minute
    assert await h.app.delivery.reminders.resume_due() is None and reached(h) == set()
    h.clock.set(at(11, 16, 9, 0))
    resumed = await h.app.delivery.reminders.resume_due()
    assert resumed is not None and resumed.totals.sent == 1
    assert len(texts(h, 101)) == 1
    assert await h.app.delivery.reminders.resume_due() is None


async def test_a_run_that_reaches_quiet_hours_pauses_and_resumes_at_their_end(
    start: Start,
) -> None:
    h = await start(datetime(2026, 11, 15, 20, 59, 30, tzinfo=MSK), broadcast_rate=1)
    for n in range(40):
        await account(h, f"50000000{n:02d}", M(f"CW-{n:04d}", "cold_water"), chats=(200 + n,))
    moments: list[datetime] = []

    async def when(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        moments.append(h.clock.now().astimezone(MSK))
        return await make_request(bot, method)

    h.app.bot.session.middleware(when)
    first = await h.app.delivery.reminders.run_due(["opening"])
    assert 25 <= first.totals.sent <= 31  # one a second, until 21:00
    assert first.campaigns[0].quiet_until == at(11, 16, 9, 0)
    assert max(moments) < datetime(2026, 11, 15, 21, 0, tzinfo=MSK)

    h.clock.set(at(11, 16, 9, 0))
    second = await h.app.delivery.reminders.resume_due()
    assert second is not None and second.totals.sent == 40 - first.totals.sent
    assert min(moments[first.totals.sent :]) >= at(11, 16, 9, 0)
    assert all(len(texts(h, 200 + n)) == 1 for n in range(40))


async def test_empty_quiet_hours_send_at_any_hour(start: Start) -> None:
    h = await start(at(11, 15, 23, 30), quiet_hours="")
    await account(h, "5000000001", M("CW-1111", "cold_water"), chats=(101,))
    await h.app.delivery.reminders.on_start()
    assert len(texts(h, 101)) == 1
