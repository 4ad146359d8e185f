"""The sender (SPEC §7 "Delivery"): pace, 429, 403, errors, and nothing sent twice."""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.methods import Response, SendMessage, TelegramMethod

from bot.leadership.advisory_locks import PostgresOwner
from bot.notifications.messages import Outgoing
from bot.notifications.pacer import Pacer
from bot.notifications.sender import Sender
from bot.services.owners import DeliveryOwner, ProcessOwner
from tests.harness import BotHarness, start_harness
from tests.support.time import ManualTime

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

CAMPAIGN = "broadcast:1"
TEXT = "Плановое отключение горячей воды 1–14 июня"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = await start_harness(tmp_path, broadcast_rate=25)
    yield harness
    await harness.close()


class Recorder:
    """Every sendMessage with the moment (on the manual clock) it reached the Bot API."""

    def __init__(self, h: BotHarness, time: ManualTime) -> None:
        self.time = time
        self.sends: list[tuple[float, int]] = []
        self.attempts: list[tuple[float, int]] = []
        self.hooks: dict[int, Any] = {}  # after the n-th successful send, call this
        h.app.bot.session.middleware(self)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        if not isinstance(method, SendMessage):
            return await make_request(bot, method)
        moment = self.time.monotonic()
        self.attempts.append((moment, int(method.chat_id)))
        result = await make_request(bot, method)
        self.sends.append((moment, int(method.chat_id)))
        hook = self.hooks.get(len(self.sends))
        if hook is not None:
            hook()
        return result

    def max_in_one_second(self) -> int:
        """The most sends in any closed span of one second, [t, t + 1]."""
        times = sorted(t for t, _ in self.sends)
        return max(
            (bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times)), default=0
        )

    def chats(self) -> list[int]:
        return [chat_id for _, chat_id in self.sends]


async def campaign(h: BotHarness, chat_ids: Sequence[int]) -> None:
    for chat_id in chat_ids:
        await h.app.storage.chats.ensure(chat_id, h.clock.now())
    await h.app.storage.deliveries.create_campaign(CAMPAIGN, "broadcast", {}, h.clock.now())
    await h.app.storage.deliveries.add_recipients(CAMPAIGN, list(chat_ids), h.clock.now())


async def render(chat_ids: Sequence[int]) -> Mapping[int, Outgoing]:
    return {chat_id: Outgoing((TEXT,)) for chat_id in chat_ids}


def paced(h: BotHarness, rate: float | None, **kwargs: Any) -> tuple[Sender, Recorder]:
    time = ManualTime(clock=h.clock)
    sender = h.app.delivery.sender
    sender.pacer = Pacer(rate, monotonic=time.monotonic, sleep=time.sleep)
    for name, value in kwargs.items():
        setattr(sender, f"_{name}", value)
    return sender, Recorder(h, time)


async def test_the_rate_never_exceeds_broadcast_rate_in_any_second(h: BotHarness) -> None:
    chats = list(range(1000, 1300))
    await campaign(h, chats)
    sender, recorder = paced(h, 25)
    counts = await sender.run(CAMPAIGN, render)
    assert counts.sent == 300
    assert sorted(recorder.chats()) == chats
    assert recorder.max_in_one_second() == 25
    first, last = recorder.sends[0][0], recorder.sends[-1][0]
    assert last - first == pytest.approx(299 / 25, abs=1e-3)  # and no slower than that


async def test_the_rate_holds_with_many_sends_in_flight(h: BotHarness) -> None:
    await campaign(h, range(1000, 1100))
    sender, recorder = paced(h, 10, concurrency=50, claim_size=7)
    await sender.run(CAMPAIGN, render)
    assert len(recorder.sends) == 100 and recorder.max_in_one_second() == 10


async def test_a_fractional_rate_never_rounds_up(h: BotHarness) -> None:
    await campaign(h, range(1000, 1030))
    sender, recorder = paced(h, 2.5)
    await sender.run(CAMPAIGN, render)
    assert recorder.max_in_one_second() == 2


async def test_a_429_waits_retry_after_and_retries_that_chat(h: BotHarness) -> None:
    await campaign(h, range(1000, 1010))
    h.session.fail("SendMessage", 1004, kind="429", retry_after=7)
    sender, recorder = paced(h, 25)
    counts = await sender.run(CAMPAIGN, render)

    assert counts.sent == 10 and counts.retried == 1
    assert sorted(recorder.chats()) == list(range(1000, 1010))  # 1004 once, after the wait
    assert len(h.session.messages[1004]) == 1
    refused_at = next(t for t, c in recorder.attempts if c == 1004)
    retried_at = next(t for t, c in recorder.sends if c == 1004)
    assert retried_at >= refused_at + 7
    # nothing at all went out during the 7 s the Bot API asked for
    assert not [t for t, _ in recorder.sends if refused_at < t < refused_at + 7]


async def test_a_429_pauses_everyone(h: BotHarness) -> None:
    await campaign(h, range(1000, 1006))
    h.session.fail("SendMessage", 1002, kind="429", retry_after=5)
    sender, recorder = paced(h, None)
    await sender.run(CAMPAIGN, render)
    refused_at = next(t for t, chat_id in recorder.attempts if chat_id == 1002)
    # unpaced, everything would go at once; after the 429 nobody was sent anything for 5 s
    assert [t for t, _ in recorder.sends if refused_at < t < refused_at + 5] == []
    assert sum(t >= refused_at + 5 for t, chat_id in recorder.sends if chat_id != 1002) >= 3


async def test_a_429_forever_is_retried_in_later_runs_never_failed_at_once(
    h: BotHarness,
) -> None:
    await campaign(h, [1000, 1001])
    h.session.fail("SendMessage", 1000, kind="429", retry_after=1, times=100)
    sender, _ = paced(h, 25)
    counts = await sender.run(CAMPAIGN, render)
    assert counts.sent == 1 and counts.failed == 0 and counts.retried >= 5
    # still due: retried with back-off (in this run while the wait is short, then later)
    assert (await h.app.storage.deliveries.statuses(CAMPAIGN))[1000] == "pending"


async def test_a_timeout_after_the_request_left_is_unknown_and_never_resent(
    h: BotHarness,
) -> None:
    await campaign(h, [1000, 1001, 1002])
    timed_out = False

    async def time_out_once(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        nonlocal timed_out
        if isinstance(method, SendMessage) and int(method.chat_id) == 1001 and not timed_out:
            timed_out = True
            await make_request(bot, method)  # Telegram got it; its answer never came back
            raise TelegramNetworkError(method, "Request timeout error") from TimeoutError()
        return await make_request(bot, method)

    h.app.bot.session.middleware(time_out_once)
    sender, _ = paced(h, 25)
    counts = await sender.run(CAMPAIGN, render)
    assert (counts.sent, counts.unknown, counts.retried) == (2, 1, 0)
    assert (await h.app.storage.deliveries.statuses(CAMPAIGN))[1001] == "unknown"
    await sender.run(CAMPAIGN, render)
    assert len(h.session.messages[1001]) == 1


async def test_a_5xx_is_retried_with_back_off_and_sent_once(h: BotHarness) -> None:
    await campaign(h, [1000, 1001, 1002])
    failures = 0

    async def fail_twice(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        nonlocal failures
        if isinstance(method, SendMessage) and int(method.chat_id) == 1001 and failures < 2:
            failures += 1
            raise TelegramServerError(method, "Internal Server Error")
        return await make_request(bot, method)

    sender, recorder = paced(h, 25)
    h.app.bot.session.middleware(fail_twice)  # inside the recorder: it sees every attempt
    counts = await sender.run(CAMPAIGN, render)
    assert (counts.sent, counts.retried, counts.failed) == (3, 2, 0)
    assert sorted(recorder.chats()) == [1000, 1001, 1002]
    tries = [t for t, chat_id in recorder.attempts if chat_id == 1001]
    # the delivery's own back-off: 5 s, then 15 s
    assert tries[1] - tries[0] >= 5 and tries[2] - tries[1] >= 15


async def test_a_403_marks_the_chat_inactive_until_the_resident_writes(h: BotHarness) -> None:
    await campaign(h, [1000, 1001])
    h.session.fail("SendMessage", 1001, kind="403")
    sender, _ = paced(h, 25)
    counts = await sender.run(CAMPAIGN, render)

    assert (counts.sent, counts.blocked) == (1, 1)
    assert (await h.app.storage.deliveries.statuses(CAMPAIGN)) == {1000: "sent", 1001: "blocked"}
    chat = await h.app.storage.chats.get(1001)
    assert chat is not None and not chat.active

    await h.chat(1001).send("/help")  # unblocked the bot and wrote again
    chat = await h.app.storage.chats.get(1001)
    assert chat is not None and chat.active


async def test_other_errors_are_counted_and_logged_without_the_text(
    h: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await campaign(h, [1000, 1001, 1002])
    h.session.fail("SendMessage", 1001, kind="400")
    sender, _ = paced(h, 25)
    with caplog.at_level(logging.WARNING):
        counts = await sender.run(CAMPAIGN, render)
    assert (counts.sent, counts.failed) == (2, 1)
    assert (await h.app.storage.deliveries.statuses(CAMPAIGN))[1001] == "failed"
    assert "1001" in caplog.text
    assert TEXT not in caplog.text and "TEST-token" not in caplog.text


async def test_a_stopped_run_started_again_sends_the_rest_and_none_twice(h: BotHarness) -> None:
    chats = list(range(1000, 1050))
    await campaign(h, chats)
    stop = asyncio.Event()
    sender, recorder = paced(h, 25)
    recorder.hooks[17] = stop.set
    first = await sender.run(CAMPAIGN, render, stop=stop)
    assert first.sent == 17
    statuses = await h.app.storage.deliveries.statuses(CAMPAIGN)
    assert sorted(statuses.values()).count("sent") == 17
    assert set(statuses.values()) == {"sent", "pending"}  # nothing left half-claimed

    second = await sender.run(CAMPAIGN, render)
    assert second.sent == 33
    assert sorted(recorder.chats()) == chats


async def test_a_cancelled_run_hands_back_what_it_did_not_send(h: BotHarness) -> None:
    chats = list(range(1000, 1040))
    await campaign(h, chats)
    sender, recorder = paced(h, 25)
    task = asyncio.get_running_loop().create_task(sender.run(CAMPAIGN, render))
    recorder.hooks[9] = task.cancel
    with pytest.raises(asyncio.CancelledError):
        await task
    await sender.run(CAMPAIGN, render)
    assert sorted(recorder.chats()) == chats


async def other_owner(h: BotHarness) -> DeliveryOwner:
    """Another process sending, alive: a lock file beside SQLite, a lock on PostgreSQL."""
    mine = h.app.delivery.sender.owner
    if isinstance(mine, ProcessOwner):
        other = ProcessOwner(mine.folder)
        other.hold()
        return other
    return await PostgresOwner.open(h.app.settings.database_url)


async def dead_owner(h: BotHarness) -> DeliveryOwner:
    """Another process that claimed deliveries and then died (its lock released, a lock
    file left behind)."""
    other = await other_owner(h)
    if isinstance(other, ProcessOwner):
        assert other._fd is not None
        os.close(other._fd)  # what the kernel does when a process is killed
        other._fd = None
    else:
        other.release()  # its connection ends, as when the process is killed
    return other


async def test_a_dead_runs_claims_are_sent_and_its_requests_in_flight_never_again(
    h: BotHarness,
) -> None:
    await campaign(h, range(1000, 1010))
    run = f"{(await dead_owner(h)).token}/1"
    deliveries = h.app.storage.deliveries
    # it had claimed two batches, was sending the first, and marked its first two chats as
    # going out when it died: 1000 was answered and recorded, 1001 was under way
    assert (await deliveries.claim(CAMPAIGN, 3, h.clock.now(), run, 1))[0] == [1000, 1001, 1002]
    assert (await deliveries.claim(CAMPAIGN, 3, h.clock.now(), run, 2))[0] == [1003, 1004, 1005]
    await deliveries.mark(run, 1, 1001)
    await deliveries.apply(CAMPAIGN, [(1000, "sent", None)], run, h.clock.now())
    assert await deliveries.unsettled(CAMPAIGN) == [1001]

    sender, recorder = paced(h, 25)
    counts = await sender.run(CAMPAIGN, render)

    assert sorted(recorder.chats()) == list(range(1002, 1010))
    assert (counts.sent, counts.unknown) == (8, 1)
    statuses = await deliveries.statuses(CAMPAIGN)
    assert statuses[1001] == "unknown"
    assert {statuses[c] for c in range(1002, 1010)} == {"sent"}
    assert await deliveries.runs(CAMPAIGN) == []
    assert await deliveries.finish(CAMPAIGN, h.clock.now())


async def test_a_live_runs_claims_are_left_to_it(h: BotHarness) -> None:
    await campaign(h, range(1000, 1006))
    other = await other_owner(h)  # alive: another process sending the same campaign
    try:
        run = f"{other.token}/1"
        await h.app.storage.deliveries.claim(CAMPAIGN, 3, h.clock.now(), run, 1)
        sender, recorder = paced(h, 25)
        await sender.run(CAMPAIGN, render)
        assert sorted(recorder.chats()) == [1003, 1004, 1005]
        assert not await h.app.storage.deliveries.finish(CAMPAIGN, h.clock.now())  # its claims wait
        assert await h.app.storage.deliveries.runs(CAMPAIGN) == [run]
    finally:
        other.release()


async def test_every_request_is_on_record_before_it_leaves(h: BotHarness) -> None:
    """What a kill at any moment leaves unknown: the requests under way or waiting their
    turn, at most `lead` next in line, and answers not yet written (on this manual clock the
    writes lag far behind the sends, so those are not bounded here)."""
    await campaign(h, range(1000, 1100))
    sender, _ = paced(h, 25)
    answered: set[int] = set()
    worst_unanswered = 0

    async def check(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        nonlocal worst_unanswered
        if not isinstance(method, SendMessage):
            return await make_request(bot, method)
        chat_id = int(method.chat_id)
        unsettled = set(await h.app.storage.deliveries.unsettled(CAMPAIGN))
        assert chat_id in unsettled  # a kill now would never send it again
        worst_unanswered = max(worst_unanswered, len(unsettled - answered))
        result = await make_request(bot, method)
        answered.add(chat_id)
        return result

    h.app.bot.session.middleware(check)
    await sender.run(CAMPAIGN, render)
    assert len(answered) == 100
    assert worst_unanswered <= sender.concurrency + sender.lead == 16  # at 25 msg/s
    assert await h.app.storage.deliveries.unsettled(CAMPAIGN) == []


async def test_two_runs_of_one_campaign_at_once_send_each_chat_once(h: BotHarness) -> None:
    chats = list(range(1000, 1200))
    await campaign(h, chats)
    sender, recorder = paced(h, None, claim_size=13)
    await asyncio.gather(sender.run(CAMPAIGN, render), sender.run(CAMPAIGN, render))
    assert sorted(recorder.chats()) == chats


async def test_a_chat_the_renderer_leaves_out_is_skipped(h: BotHarness) -> None:
    await campaign(h, [1000, 1001])

    async def only_first(chat_ids: Sequence[int]) -> Mapping[int, Outgoing]:
        return {1000: Outgoing((TEXT,))}

    sender, recorder = paced(h, 25)
    counts = await sender.run(CAMPAIGN, only_first)
    assert (counts.sent, counts.skipped) == (1, 1) and recorder.chats() == [1000]
    assert (await h.app.storage.deliveries.statuses(CAMPAIGN)) == {1000: "sent", 1001: "skipped"}


async def test_the_pacer_spaces_releases_evenly() -> None:
    time = ManualTime()
    pacer = Pacer(4, monotonic=time.monotonic, sleep=time.sleep)
    moments = []
    for _ in range(6):
        assert await pacer.wait()
        moments.append(time.now)
    assert moments == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.25])
    pacer.hold(10)
    await pacer.wait()
    assert time.now == pytest.approx(11.25)


async def test_the_pacer_holds_its_rate_through_a_moments_stall() -> None:
    """A loop busy for a moment (rendering the next batch, the answers of the sends in
    flight) wakes the sender late: the releases it missed go at once, so a run keeps within
    5 % of its rate (it lost 9 % here when every late wake-up lost its time), and no span of
    one second holds more than the rate."""
    time = ManualTime()
    pacer = Pacer(100, monotonic=time.monotonic, sleep=time.sleep)
    moments: list[float] = []
    while time.now < 10:
        assert await pacer.wait()
        moments.append(time.now)
        if len(moments) % 50 == 0:
            await time.sleep(0.06)  # busy elsewhere twice a second: six releases late
    assert sum(1 for m in moments if m < 10) >= 0.95 * 100 * 10
    most = max(bisect.bisect_right(moments, t + 1.0) - i for i, t in enumerate(moments))
    assert most <= 100


async def test_a_stop_interrupts_a_long_wait() -> None:
    time = ManualTime()
    pacer = Pacer(1, monotonic=time.monotonic, sleep=time.sleep)
    pacer.hold(3600)
    deadline = time.now + 2
    assert not await pacer.wait(lambda: time.now >= deadline)
    assert time.now < 3
