"""`python -m bench.conversation`: the submission conversation under load (issue 5, target 1).

200 residents at once, each waiting for the bot's answer before its next update, walk through
three meters (cold water, hot water, a two-zone electricity meter): the menu button, a value,
Confirm, a value, Confirm, T1, T2, Confirm. The bot is the real one (build_app: middlewares,
i18n, the SQLite FSM storage, a WAL database file in a temporary directory), its Bot API calls
go to a light recording session. The same residents then drive a bare aiogram dispatcher that
only echoes, with the same number and kinds of updates; rounds alternate ours/echo and the
medians are compared. Then one resident alone walks again and again, one fresh period per walk,
and every update's handling time is taken.

Updates are built the way polling builds them (validated with the Bot in context), so
feed_update does not re-validate them; building one is the harness's cost, the same for both.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from bench.__main__ import TARGET_LINE, machine
from bot.app import App, build_app, settle_heap
from bot.clock import FrozenClock
from bot.config import Settings
from bot.storage.chats import LinkRepository

RouterT = TypeVar("RouterT", bound=Router)

RESIDENTS = 200
ROUNDS = 5  # measured rounds of each dispatcher, alternating ours/echo, after one warm-up
SOLO_WALKS = 200  # one resident alone: 200 walks = 600 submissions, 1,600 timed updates
# Target 1 as issue 10 restated it: ours against the flow's own Bot API calls behind our
# middlewares ("floor (b)", the calls-only bot), not against the bare echo (0.5 was out of
# reach by construction: floor (b) alone reaches ~0.6 of the echo).
FLOOR_RATIO_TARGET = 0.25
P99_TARGET_MS = 5.0

TOKEN = "123456:BENCH-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Meter bot", "username": "meter_bot"}
MENU_SUBMIT = "📝 Передать показания"
CONFIRM_LABEL = "Подтвердить"
DONE_MARK = "Готово"
FIRST_CHAT = 500_000
MADE_UP_DATA = "subs:confirm:AAAAAAAAAAAA"  # Confirm's shape, for bots that keep no key
SOLO_CHAT = 900_000
UPDATES_PER_WALK = 8


# --- the Bot API side ------------------------------------------------------------------------


@dataclass(slots=True)
class Shown:
    """The last message a chat sees (an edit changes it in place)."""

    message_id: int
    text: str
    markup: Any


class BenchSession(BaseSession):
    """Keeps every call (counted by method) and the last message of each chat.

    Sends and edits answer with a real Message (the submission handlers never read it, the echo
    neither), built from objects rather than parsed from JSON: the cost measured is the bot's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.last: dict[int, Shown] = {}
        self._ids = itertools.count(1)
        self._chats: dict[int, Chat] = {}
        self._date = datetime(2026, 11, 20, tzinfo=UTC)

    def _chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = Chat(id=chat_id, type="private")
        return chat

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.calls[type(method).__name__] += 1
        if isinstance(method, SendMessage):
            chat_id = int(method.chat_id)
            message_id = next(self._ids)
            self.last[chat_id] = Shown(message_id, method.text, method.reply_markup)
            return Message(
                message_id=message_id, date=self._date, chat=self._chat(chat_id), text=method.text
            )
        if isinstance(method, EditMessageText):
            chat_id, message_id = int(method.chat_id or 0), int(method.message_id or 0)
            shown = self.last.get(chat_id)
            if shown is not None and shown.message_id == message_id:
                shown.text, shown.markup = method.text or "", method.reply_markup
            return Message(
                message_id=message_id, date=self._date, chat=self._chat(chat_id), text=method.text
            )
        return True

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""  # pragma: no cover


# --- the residents ---------------------------------------------------------------------------


@dataclass
class Target:
    """A dispatcher to drive, with its bot and session."""

    name: str
    dispatcher: Dispatcher
    bot: Bot
    session: BenchSession
    clock: FrozenClock


class Resident:
    """One chat: builds updates as polling would and feeds them one after another."""

    ids = itertools.count(1)

    def __init__(self, target: Target, chat_id: int) -> None:
        self.target = target
        self.chat_id = chat_id
        self.chat = {"id": chat_id, "type": "private", "first_name": "Иван"}
        self.user = {"id": chat_id, "is_bot": False, "first_name": "Иван", "language_code": "ru"}

    def _validate(self, data: dict[str, Any]) -> Update:
        return Update.model_validate(data, context={"bot": self.target.bot})

    def text_update(self, text: str) -> Update:
        stamp = int(self.target.clock.now().timestamp())
        return self._validate(
            {
                "update_id": next(self.ids),
                "message": {
                    "message_id": next(self.ids),
                    "date": stamp,
                    "chat": self.chat,
                    "from": self.user,
                    "text": text,
                },
            }
        )

    def press_update(self, label: str) -> Update:
        """A press on the button labelled so in the last message, with its real callback data."""
        shown = self.target.session.last.get(self.chat_id)
        data = _button_data(shown, label)
        if data is None:
            raise AssertionError(f"chat {self.chat_id}: no {label!r} button in {shown}")
        assert shown is not None
        return self.callback_update(data, shown.message_id, shown.text)

    def callback_update(self, data: str, message_id: int, text: str) -> Update:
        stamp = int(self.target.clock.now().timestamp())
        return self._validate(
            {
                "update_id": next(self.ids),
                "callback_query": {
                    "id": str(next(self.ids)),
                    "from": self.user,
                    "chat_instance": str(self.chat_id),
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": stamp,
                        "chat": self.chat,
                        "from": BOT_USER,
                        "text": text,
                    },
                },
            }
        )

    def steps(self, walk: int) -> list[Callable[[], Update]]:
        """The eight updates of one walk; values grow steadily, one month's use per walk."""
        n = walk + 1
        cold, hot, day, night = 100 + 5 * n, 10_000 + 3 * n, 1_000 + 100 * n, 400 + 50 * n
        return [
            lambda: self.text_update(MENU_SUBMIT),
            lambda: self.text_update(str(cold)),
            lambda: self.press_update(CONFIRM_LABEL),
            lambda: self.text_update(str(hot)),
            lambda: self.press_update(CONFIRM_LABEL),
            lambda: self.text_update(str(day)),
            lambda: self.text_update(str(night)),
            lambda: self.press_update(CONFIRM_LABEL),
        ]

    async def walk(self, walk: int, timings: list[float] | None = None) -> None:
        target = self.target
        for step in self.steps(walk):
            update = step()
            started = time.perf_counter()
            await target.dispatcher.feed_update(target.bot, update)
            if timings is not None:
                timings.append(time.perf_counter() - started)


def _button_data(shown: Shown | None, label: str) -> str | None:
    if shown is None or not isinstance(shown.markup, InlineKeyboardMarkup):
        return None
    for row in shown.markup.inline_keyboard:
        for button in row:
            if label in button.text:
                return button.callback_data
    return None


class EchoResident(Resident):
    """The same updates, but Confirm carries made-up callback data: the echo sends no buttons."""

    def press_update(self, label: str) -> Update:
        shown = self.target.session.last.get(self.chat_id)
        message_id, text = (shown.message_id, shown.text) if shown else (1, "?")
        return self.callback_update(MADE_UP_DATA, message_id, text)


# --- the two bots ----------------------------------------------------------------------------


def month_at(offset: int) -> datetime:
    """09:00 UTC on the 20th, `offset` months after November 2026: inside the 15th-3rd window."""
    year, month = divmod(2026 * 12 + 10 + offset, 12)
    return datetime(year, month + 1, 20, 9, 0, tzinfo=UTC)


async def seed(app: App, chat_ids: list[int]) -> None:
    """One account with three meters per chat, linked to it; last readings from October."""
    accounts = [(f"50{chat_id:08d}", f"+7916{chat_id:07d}") for chat_id in chat_ids]
    async with app.storage.db.transaction() as conn:
        for number, phone in accounts:
            account_id = await conn.fetchval(
                "INSERT INTO accounts (number, phone, address, updated_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (number, phone, "г. Балашиха, ул. Ленина, д. 1", "2026-11-01T00:00:00+00:00"),
            )
            await conn.executemany(
                "INSERT INTO meters (account_id, serial, resource, tariffs, digits,"
                " last_t1, last_t2, last_date) VALUES (?, ?, ?, ?, ?, ?, ?, '2026-10-20')",
                [
                    (account_id, f"CW-{number}", "cold_water", 1, None, 100, None),
                    (account_id, f"HW-{number}", "hot_water", 1, 5, 10_000, None),
                    (account_id, f"EL-{number}", "electricity", 2, None, 1_000, 400),
                ],
            )
    links = LinkRepository(app.storage.db)
    rows = await app.storage.db.fetchall("SELECT id, number FROM accounts")
    by_number = {row["number"]: row["id"] for row in rows}
    for chat_id, (number, _) in zip(chat_ids, accounts, strict=True):
        await links.link(chat_id, by_number[number], app.clock.now())


# Every Confirm writes its billing event in the reading's transaction, as with
# BILLING_WEBHOOK_URL set (nothing is posted: the dispatcher is not started here);
# BENCH_OUTBOX=0 measures without it.
OUTBOX: dict[str, Any] = (
    {}
    if os.environ.get("BENCH_OUTBOX") == "0"
    else {
        "billing_webhook_url": "http://127.0.0.1:9/not-posted",
        "billing_webhook_secret": "whsec_YmVuY2gtY29udmVyc2F0aW9uLXNlY3JldC0zMmI=",
    }
)


async def build_ours(directory: Path, name: str = "ours", **overrides: Any) -> tuple[App, Target]:
    """Our bot on a SQLite file in `directory`, or on what `overrides` name (database_url,
    redis_url, redis_prefix: bench/scaleout.py)."""
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "database_url": f"sqlite:///{directory / 'bot.sqlite3'}",
        "support_contact": "+7 (495) 000-00-00",
        **OUTBOX,
        **overrides,
    }
    settings = Settings(_env_file=None, **values)
    clock = FrozenClock(month_at(0))
    session = BenchSession()
    app = await build_app(settings, clock=clock, session=session)
    settle_heap()  # as `python -m bot run` does
    if os.environ.get("BENCH_GC0"):
        gc.set_threshold(int(os.environ["BENCH_GC0"]), 10, 10)
    if not settings.on_postgres:
        mode = await app.storage.db.fetchval("PRAGMA journal_mode")
        assert mode == "wal", mode
    return app, Target(name, app.dispatcher, app.bot, session, clock)


def put_first(app: App, router: Router) -> None:
    """Our dispatcher, middlewares and routers, with `router` before all of them."""
    router.parent_router = app.dispatcher  # appends it
    app.dispatcher.sub_routers.insert(0, app.dispatcher.sub_routers.pop())


def with_echo(router: RouterT) -> RouterT:
    """The echo's only handlers: the text sent back, a button press answered."""

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @router.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()

    return router


def _markup(*rows: tuple[str, ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=MADE_UP_DATA)]
            for row in rows
            for label in row
        ]
    )


def calls_router() -> Router:
    """The Bot API calls the flow makes for each update of a walk, and nothing else.

    Same methods, same order, keyboards of the same shape (built once, here): no state, no
    rendering, no database. Behind our middlewares this is the floor of what the flow can cost.
    """
    router = Router(name="bench-calls")
    overview, question = _markup(("a",), ("b",), ("c",)), _markup(("Пропустить",))
    confirmation = _markup((CONFIRM_LABEL,), ("Изменить", "Отменить"))
    walks: dict[int, list[int]] = {}  # chat → [Confirms pressed this walk, values since]

    @router.message()
    async def typed(message: Message, bot: Bot) -> None:
        chat_id = message.chat.id
        if message.text == MENU_SUBMIT:  # the overview, then the first question
            walks[chat_id] = [0, 0]
            await bot.send_message(chat_id, "overview", reply_markup=overview)
            await bot.send_message(chat_id, "question", reply_markup=question)
            return
        progress = walks[chat_id]
        progress[1] += 1
        if progress == [2, 1]:  # T1 of the two-zone meter: T2 is asked next
            await bot.send_message(chat_id, "question", reply_markup=question)
        else:
            await bot.send_message(chat_id, "confirmation", reply_markup=confirmation)

    @router.callback_query()
    async def confirmed(query: CallbackQuery, bot: Bot) -> None:
        assert query.message is not None
        chat_id = query.message.chat.id
        await query.answer()
        progress = walks[chat_id]
        progress[0], progress[1] = progress[0] + 1, 0
        await bot.edit_message_text(
            text="receipt", chat_id=chat_id, message_id=query.message.message_id
        )
        if progress[0] < 3:
            await bot.send_message(chat_id, "question", reply_markup=question)
        else:
            await bot.send_message(chat_id, f"{DONE_MARK}: summary")

    return router


def build_echo(clock: FrozenClock) -> Target:
    """The bare dispatcher: aiogram's defaults and the echo's handlers on it, nothing else."""
    session = BenchSession()
    return Target("echo", with_echo(Dispatcher()), Bot(TOKEN, session=session), session, clock)


async def crowd(residents: Sequence[Resident], walk: int) -> float:
    """Every resident walks once, all at once; updates per second."""
    started = time.perf_counter()
    await asyncio.gather(*(r.walk(walk) for r in residents))
    elapsed = time.perf_counter() - started
    return len(residents) * UPDATES_PER_WALK / elapsed


def load() -> str:
    return " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-conversation-") as tmp:
        app, ours = await build_ours(Path(tmp) / "ours")
        # two more of our bots, with a router in front of ours: where the floor lies
        stack_app, stack = await build_ours(Path(tmp) / "stack", "echo behind our stack")
        put_first(stack_app, with_echo(Router(name="bench-echo")))
        calls_app, calls = await build_ours(Path(tmp) / "calls", "the flow's calls only")
        put_first(calls_app, calls_router())
        try:
            return await _run(app, ours, stack, calls)
        finally:
            for each in (app, stack_app, calls_app):
                await each.close()


async def _run(app: App, ours: Target, stack: Target, calls: Target) -> int:
    chat_ids = [FIRST_CHAT + n for n in range(RESIDENTS)]
    await seed(app, [*chat_ids, SOLO_CHAT])
    echo = build_echo(FrozenClock(month_at(0)))
    our_residents = [Resident(ours, chat_id) for chat_id in chat_ids]
    echo_residents = [EchoResident(echo, chat_id) for chat_id in chat_ids]
    # the floor, measured in the same rounds: our middlewares and routers behind the echo,
    # and behind the flow's own Bot API calls (15 a walk against the echo's 8)
    floors: dict[str, Sequence[Resident]] = {
        stack.name: [EchoResident(stack, chat_id) for chat_id in chat_ids],
        calls.name: [Resident(calls, chat_id) for chat_id in chat_ids],
    }
    floor_ratios: dict[str, list[float]] = {name: [] for name in floors}

    print(f"machine: {machine()}, SQLite {sqlite3.sqlite_version}")
    print(f"load average before: {load()}  (the machine is shared: absolute figures move with it)")
    print(
        f"{RESIDENTS} residents at once, {UPDATES_PER_WALK} updates each a round;"
        f" one warm-up round, then {ROUNDS} rounds alternating ours/echo"
        f" (and the two floors: {', '.join(floors)})",
        flush=True,
    )
    ours_rates, echo_rates, ratios = [], [], []
    for walk in range(ROUNDS + 1):
        ours.clock.set(month_at(walk))  # a fresh period: every walk asks all three meters
        gc.collect()
        ours_rate = await crowd(our_residents, walk)
        gc.collect()
        echo_rate = await crowd(echo_residents, walk)
        floor_rates = {}
        for name, residents in floors.items():
            gc.collect()
            floor_rates[name] = await crowd(residents, walk)
        label = "warm-up" if walk == 0 else f"round {walk}"
        print(
            f"  {label:8} ours {ours_rate:7.0f} upd/s   echo {echo_rate:7.0f} upd/s"
            f"   ratio {ours_rate / echo_rate:.2f}   floors "
            + " / ".join(f"{rate / echo_rate:.2f}" for rate in floor_rates.values()),
            flush=True,
        )
        if walk:
            ours_rates.append(ours_rate)
            echo_rates.append(echo_rate)
            ratios.append(ours_rate / echo_rate)
            for name, rate in floor_rates.items():
                floor_ratios[name].append(rate / echo_rate)
    for resident in our_residents:
        shown = ours.session.last[resident.chat_id]
        assert DONE_MARK in shown.text, f"chat {resident.chat_id} did not finish: {shown.text}"

    solo = Resident(ours, SOLO_CHAT)
    timings: list[float] = []
    by_step: list[list[float]] = [[] for _ in range(UPDATES_PER_WALK)]
    gc.collect()
    solo_started = time.perf_counter()
    for walk in range(SOLO_WALKS):
        ours.clock.set(month_at(walk))
        walk_timings: list[float] = []
        await solo.walk(walk, walk_timings)
        assert DONE_MARK in ours.session.last[SOLO_CHAT].text
        timings += walk_timings
        for step, seconds in enumerate(walk_timings):
            by_step[step].append(seconds)
    solo_elapsed = time.perf_counter() - solo_started

    await app.storage.fsm.flush()  # the last updates' states are written behind them
    expected = (ROUNDS + 1) * RESIDENTS * 3 + SOLO_WALKS * 3
    saved = int(await app.storage.db.fetchval("SELECT count(*) FROM readings"))
    current = int(
        await app.storage.db.fetchval("SELECT count(*) FROM readings WHERE replaced_at IS NULL")
    )
    left = int(await app.storage.db.fetchval("SELECT count(*) FROM fsm_states"))

    ratio = statistics.median(ratios)
    calls_ratios = floor_ratios[calls.name]
    over_floor = statistics.median(o / c for o, c in zip(ratios, calls_ratios, strict=True))
    p50 = percentile(timings, 0.50) * 1000
    p99 = percentile(timings, 0.99) * 1000
    names = ("menu", "cold", "confirm", "hot", "confirm", "T1", "T2", "confirm")
    print(
        f"one resident alone: {len(timings)} updates in {SOLO_WALKS} walks"
        f" ({len(timings) / solo_elapsed:.0f} upd/s); p50/p99 ms by step: "
        + ", ".join(
            f"{name} {percentile(s, 0.5) * 1000:.2f}/{percentile(s, 0.99) * 1000:.2f}"
            for name, s in zip(names, by_step, strict=True)
        )
    )
    rows = [
        (f"ours, updates/s (median of {ROUNDS})", f"{statistics.median(ours_rates):.0f}", "", ""),
        (f"echo, updates/s (median of {ROUNDS})", f"{statistics.median(echo_rates):.0f}", "", ""),
        ("ours / echo (median of the rounds' ratios)", f"{ratio:.2f}", "", ""),
        (
            "ours / floor (b) (median of the rounds')",
            f"{over_floor:.2f}",
            f">= {FLOOR_RATIO_TARGET}",
            verdict(over_floor >= FLOOR_RATIO_TARGET),
        ),
        ("one resident alone, p50 per update", f"{p50:.2f} ms", "", ""),
        (
            "one resident alone, p99 per update",
            f"{p99:.2f} ms",
            f"<= {P99_TARGET_MS:.0f} ms",
            verdict(p99 <= P99_TARGET_MS),
        ),
    ]
    rows[3:3] = [
        (f"  floor: {name} / echo", f"{statistics.median(r):.2f}", "", "")
        for name, r in floor_ratios.items()
    ]
    print()
    print(
        f"{TARGET_LINE} ours / floor (b) {over_floor:.2f} (>= {FLOOR_RATIO_TARGET}:"
        f" {verdict(over_floor >= FLOOR_RATIO_TARGET)}), one resident's p99 per update"
        f" {p99:.2f} ms (<= {P99_TARGET_MS:.0f}: {verdict(p99 <= P99_TARGET_MS)})"
    )
    for figure, value, target, outcome in rows:
        print(f"{figure:44} {value:>10}   {target:10} {outcome}")
    print(f"load average after: {load()}")
    made = ", ".join(f"{name} {count}" for name, count in sorted(ours.session.calls.items()))
    print(f"Bot API calls (ours): {made}")
    print(f"submissions in the database: {saved} (expected {expected}), current {current}")
    assert saved == expected, f"{saved} submissions saved, {expected} expected"
    assert current == expected, "every walk is a fresh period: nothing should be replaced"
    assert left == 0, f"{left} conversations left in the FSM table"
    return 0 if over_floor >= FLOOR_RATIO_TARGET and p99 <= P99_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
