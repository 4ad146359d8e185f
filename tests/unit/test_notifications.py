"""The outbound side (bot/notifications) as the services' ports see it: reminder messages,
notice outcomes, and the rule that services never know Telegram."""

from __future__ import annotations

import ast
import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.domain.campaigns import Notice, RecipientMeter
from bot.domain.periods import Period
from bot.i18n import LOCALES_DIR, RenderCachingCore
from bot.keyboards.callbacks import SubmitStartCb
from bot.notifications.messages import Outgoing
from bot.notifications.notices import NoticeMessages
from bot.notifications.reminders import ReminderMessages

ROOT = Path(__file__).resolve().parents[2]
# what decides who gets what, and when: rules only, no Telegram, no Fluent, no App
DELIVERY_RULES = (
    "bot/services/ports.py",
    "bot/services/reminders.py",
    "bot/services/reminder_report.py",
    "bot/services/broadcasts.py",
    "bot/services/notices.py",
    "bot/scheduler.py",
)
FORBIDDEN = ("aiogram", "aiogram_i18n", "fluent", "bot.app", "bot.notifications", "bot.storage.db")


@pytest.fixture(scope="module")
def core() -> RenderCachingCore:
    core = RenderCachingCore(path=LOCALES_DIR / "{locale}", default_locale="ru")
    asyncio.run(core.startup())
    return core


def meter(account_id: int, serial: str, *, locale: str | None = "en") -> RecipientMeter:
    return RecipientMeter(
        chat_id=101,
        locale=locale,
        account_id=account_id,
        number=f"50000000{account_id:02d}",
        address=None,
        meter_id=account_id * 10,
        serial=serial,
        resource="cold_water",
        window_start=None,
        window_end=None,
        verified_until=None,
    )


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", DELIVERY_RULES)
def test_delivery_rules_know_no_telegram_no_fluent_and_no_app(module: str) -> None:
    imports = imported_modules(ROOT / module)
    crossing = {
        name for name in imports for bad in FORBIDDEN if name == bad or name.startswith(bad + ".")
    }
    assert crossing == set(), f"{module} imports {sorted(crossing)}"


def test_closing_lists_periods_in_order_and_one_button_per_account_in_link_order(
    core: RenderCachingCore,
) -> None:
    messages = ReminderMessages(core, default_locale="ru", support_contact="8-800")
    later, earlier = Period(2026, 11), Period(2026, 10)
    message = Outgoing.of(
        messages.closing(
            date(2026, 12, 3),
            2,
            [(later, meter(2, "B-2222")), (earlier, meter(1, "A-1111")), (later, meter(1, "C-3"))],
        )
    )
    lines = message.text.splitlines()
    october = next(i for i, line in enumerate(lines) if "October" in line)
    november = next(i for i, line in enumerate(lines) if "November" in line)
    assert october < november
    assert "…1111" in lines[october + 1]
    assert message.reply_markup is not None
    buttons = [row[0] for row in message.reply_markup.inline_keyboard]
    assert [b.callback_data for b in buttons] == [
        SubmitStartCb(account_id=2).pack(),
        SubmitStartCb(account_id=1).pack(),
    ]
    assert all("5000000" in b.text for b in buttons)  # several accounts: each button names one


def test_a_chat_in_an_unknown_language_reads_the_default_one(core: RenderCachingCore) -> None:
    messages = ReminderMessages(core, default_locale="ru", support_contact="8-800")
    message = Outgoing.of(messages.verification(meter(1, "A-1111", locale="de"), date.today(), 0))
    assert "поверк" in message.text and message.reply_markup is None


def test_the_sender_takes_only_messages_built_by_notifications() -> None:
    with pytest.raises(TypeError):
        Outgoing.of("a plain string")


class FailingBot:
    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((chat_id, text))


METHOD = SendMessage(chat_id=101, text="-")


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "sent"),
        (TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"), "blocked"),
        (TelegramBadRequest(METHOD, "Bad Request: chat not found"), "failed"),
        (TelegramRetryAfter(METHOD, "Too Many Requests", 5), None),
        (TelegramServerError(METHOD, "Bad Gateway"), None),
        (OSError("connection reset"), None),
    ],
)
async def test_a_notice_outcome_says_whether_to_try_again(
    core: RenderCachingCore, error: Exception | None, outcome: str | None
) -> None:
    bot = FailingBot(error)
    # FailingBot stands in for aiogram's Bot: only send_message is called
    notices = NoticeMessages(bot, core, default_locale="en", support_contact="8-800")  # type: ignore[arg-type]
    notice = Notice(1, 101, "phone-changed", {"account": "5000000001"}, None)
    assert await notices.deliver(notice) == outcome
    if outcome == "sent":
        [(chat_id, text)] = bot.sent
        assert chat_id == 101 and "8-800" in text


async def test_a_notice_of_an_unknown_kind_fails_for_good(core: RenderCachingCore) -> None:
    bot = FailingBot(None)
    # FailingBot stands in for aiogram's Bot: only send_message is called
    notices = NoticeMessages(bot, core, default_locale="en", support_contact="8-800")  # type: ignore[arg-type]
    assert await notices.deliver(Notice(1, 101, "no-such-kind", {}, None)) == "failed"
    assert bot.sent == []
