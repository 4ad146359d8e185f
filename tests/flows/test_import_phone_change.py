"""A re-import that changes an account's phone ends the links made with the old one (SPEC §5.8):
a flat sold must not keep its old owner in. The import runs without a bot; the running bot
tells each chat why, in its language."""

from __future__ import annotations

from pathlib import Path

from aiogram.methods import SendMessage

from bot.services.importer import ImportReport, format_report, import_file
from bot.storage.imports import import_repository
from tests.harness import BotHarness, ChatClient

FLAT = "5012345678"
OTHER = "5098765432"
OLD_PHONE = "+79161234567"
NEW_PHONE = "+79035556677"
HEADER = "account;phone;address;meter;resource;last_t1;last_date"


def accounts_file(tmp_path: Path, flat_phone: str, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text(
        "\n".join(
            [
                HEADER,
                f"{FLAT};{flat_phone};ул. Мира, д. 1, кв. 5;CW-1;cold_water;100;2026-10-20",
                f"{FLAT};{flat_phone};ул. Мира, д. 1, кв. 5;HW-1;hot_water;50;2026-10-20",
                f"{OTHER};+7 925 000-11-22;ул. Мира, д. 2, кв. 7;E-1;electricity;900;2026-10-20",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path


async def load(h: BotHarness, path: Path) -> ImportReport:
    report = await import_file(import_repository(h.db), path, now=h.clock.now())
    assert report.imported and not report.errors, report.errors
    return report


async def link(
    h: BotHarness, chat: ChatClient, account: str, phone: str, *, another: str | None = None
) -> None:
    if another is None:
        await chat.send("/start")
    else:  # a chat with an account already: "Link another account"
        await chat.send("/accounts")
        await chat.press(another)
    await chat.send(account)
    await chat.send(phone)
    await h.settle()  # codes go out in the background, after the answer
    await chat.send(h.sms.last_code(phone))
    assert f"<b>{account}</b>" in chat.last_text
    h.clock.advance(seconds=61)  # codes to one chat are at least a minute apart


async def current_account(h: BotHarness, chat_id: int) -> str | None:
    number: str | None = await h.db.fetchval(
        "SELECT a.number FROM chats AS c LEFT JOIN accounts AS a ON a.id = c.current_account_id"
        " WHERE c.chat_id = ?",
        (chat_id,),
    )
    return number


async def linked(h: BotHarness, account: str) -> list[int]:
    rows = await h.db.fetchall(
        "SELECT l.chat_id FROM links AS l JOIN accounts AS a ON a.id = l.account_id"
        " WHERE a.number = ? ORDER BY l.chat_id",
        (account,),
    )
    return [row[0] for row in rows]


def ended_link_messages(h: BotHarness) -> int:
    texts = [call.text for call in h.session.calls_of(SendMessage)]
    return sum("больше не привязан" in text or "no longer linked" in text for text in texts)


async def send_notices(h: BotHarness) -> None:
    """The bot's start-up: pending notices go out at once (then every 45 s)."""
    await h.app.delivery.jobs.on_startup()
    await h.settle()
    await h.app.delivery.jobs.on_shutdown()


async def test_a_changed_phone_ends_the_old_links_and_the_bot_tells_each_chat_in_its_language(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    await load(h, accounts_file(tmp_path, "8 916 123-45-67"))
    old_owner = h.chat(1001)  # Russian
    await link(h, old_owner, FLAT, OLD_PHONE)
    family = h.chat(1002, language_code="en")  # English, with a second account of its own
    await family.send("/language")
    await family.press("English")
    await link(h, family, OTHER, "+79250001122")
    await link(h, family, FLAT, OLD_PHONE, another="Link another account")
    assert await current_account(h, 1002) == FLAT
    # the old owner's reading of this month, and a code on its way to the old phone
    meter = await h.db.fetchval("SELECT id FROM meters WHERE serial = 'CW-1'")
    await h.db.execute(
        "INSERT INTO readings (meter_id, period, t1, submitted_at, chat_id, receipt)"
        " VALUES (?, '2026-11', 123, '2026-11-19T09:00:00+00:00', 1001, '2611-000001')",
        (meter,),
    )
    readings = [tuple(r) for r in await h.db.fetchall("SELECT * FROM readings ORDER BY id")]
    late = h.chat(1003)
    await late.send("/start")
    await late.send(FLAT)
    await late.send(OLD_PHONE)
    await h.settle()
    late_code = h.sms.last_code(OLD_PHONE)

    # the flat is sold: the billing centre's file has the new owner's phone
    report = await load(h, accounts_file(tmp_path, "+7 903 555-66-77", "sold.csv"))
    assert (report.accounts_updated, report.accounts_unchanged) == (1, 1)
    assert report.links_ended == 2
    assert "Links ended because an account's phone changed: 2;" in format_report(report)

    assert await linked(h, FLAT) == []
    assert await linked(h, OTHER) == [1002]
    assert await current_account(h, 1001) is None
    assert await current_account(h, 1002) == OTHER
    assert [tuple(r) for r in await h.db.fetchall("SELECT * FROM readings ORDER BY id")] == (
        readings
    )
    assert await h.db.fetchval("SELECT count(*) FROM notices WHERE sent_at IS NULL") == 2

    await send_notices(h)

    [ru] = [m.text for m in old_owner.messages if "больше не привязан" in m.text]
    assert f"<b>{FLAT}</b>" in ru and "сменился номер телефона" in ru
    assert "+7 (495) 000-00-00" in ru  # the harness's SUPPORT_CONTACT
    [en] = [m.text for m in family.messages if "no longer linked" in m.text]
    assert f"<b>{FLAT}</b>" in en and "phone number on file for it has changed" in en
    assert await h.db.fetchval("SELECT count(*) FROM notices WHERE outcome = 'sent'") == 2

    # the old owner is out: no menu, and the code sent to the old phone is dead
    await old_owner.send("/start")
    assert "номер лицевого счёта" in old_owner.last_text
    await late.send(late_code)
    assert await linked(h, FLAT) == []
    # the new owner links with the new phone
    new_owner = h.chat(1004)
    await link(h, new_owner, FLAT, NEW_PHONE)
    assert await linked(h, FLAT) == [1004]

    # the bot's next start sends no notice twice (it may send the new owner the month's
    # opening reminder: a chat linked since a run joins it)
    before = ended_link_messages(h)
    await send_notices(h)
    assert ended_link_messages(h) == before == 2


async def test_a_reimport_with_the_same_phone_keeps_every_link(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    await load(h, accounts_file(tmp_path, "8 916 123-45-67"))
    await link(h, h.chat(1001), FLAT, OLD_PHONE)
    # the same number written another way is the same phone
    report = await load(h, accounts_file(tmp_path, "+7 (916) 123-45-67", "again.csv"))
    assert (report.accounts_updated, report.links_ended) == (0, 0)
    assert await linked(h, FLAT) == [1001]
    assert await current_account(h, 1001) == FLAT
    assert await h.db.fetchval("SELECT count(*) FROM notices") == 0


async def test_a_chat_that_blocked_the_bot_is_done_and_not_tried_again(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    await load(h, accounts_file(tmp_path, OLD_PHONE))
    await link(h, h.chat(1001), FLAT, OLD_PHONE)
    await load(h, accounts_file(tmp_path, NEW_PHONE, "sold.csv"))
    h.session.fail("SendMessage", 1001, kind="403")
    notices = h.app.delivery.notices

    report = await notices.send_pending()

    assert (report.sent, report.blocked, report.left) == (0, 1, False)
    assert await h.db.fetchval("SELECT outcome FROM notices") == "blocked"
    assert await h.db.fetchval("SELECT active FROM chats WHERE chat_id = 1001") == 0
    tries = len(h.session.calls_of(SendMessage))
    await notices.send_pending()
    assert len(h.session.calls_of(SendMessage)) == tries


async def test_a_notice_telegram_asks_to_wait_for_goes_out_at_the_next_run(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    await load(h, accounts_file(tmp_path, OLD_PHONE))
    chat = h.chat(1001)
    await link(h, chat, FLAT, OLD_PHONE)
    await load(h, accounts_file(tmp_path, NEW_PHONE, "sold.csv"))
    h.session.fail("SendMessage", 1001, kind="429", retry_after=30)
    notices = h.app.delivery.notices

    first = await notices.send_pending()
    assert (first.sent, first.left) == (0, True)
    assert await h.db.fetchval("SELECT count(*) FROM notices WHERE sent_at IS NULL") == 1

    second = await notices.send_pending()
    assert second.sent == 1
    assert "больше не привязан" in chat.last_text
