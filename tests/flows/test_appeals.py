"""Appeals (SPEC §11): a resident writes, operators answer in a forum topic, both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.methods import CloseForumTopic, CreateForumTopic, SendMessage
from aiogram.types import Document, PhotoSize, Sticker, Update, VideoNote, Voice

from bot.domain.appeals import MAX_TEXT_LENGTH
from tests.flows.test_submit import link, seed_flat
from tests.harness import BotHarness, ChatClient, ForumMember, Sent, start_harness

OPERATORS = -1001234567890
WRITE = "✉️ Написать нам"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[BotHarness]:
    h = await start_harness(tmp_path, operator_chat_id=OPERATORS, appeal_sla_hours=24)
    # the appeals' job runs in the leader only: this process leads (its catch-up done now)
    await h.app.delivery.jobs.leadership.start()
    await h.settle()
    yield h
    await h.app.delivery.jobs.leadership.give_up()
    await h.close()


def photo(n: int = 1) -> list[PhotoSize]:
    return [PhotoSize(file_id=f"photo-{n}", file_unique_id=f"u{n}", width=640, height=480)]


async def send_photo(chat: ChatClient, caption: str | None = None, n: int = 1) -> int:
    message = chat._message(photo=photo(n), caption=caption)
    await chat.feed(Update(update_id=next(chat.harness.ids), message=message))
    return message.message_id


async def send_document(chat: ChatClient, n: int = 1) -> int:
    document = Document(file_id=f"doc-{n}", file_unique_id=f"d{n}", file_name="act.pdf")
    message = chat._message(document=document)
    await chat.feed(Update(update_id=next(chat.harness.ids), message=message))
    return message.message_id


async def write_appeal(
    chat: ChatClient, text: str, *, topic: str = "Счётчик сломался", photos: int = 0
) -> None:
    await chat.send(WRITE)
    await chat.press(topic)
    await chat.send(text)
    for n in range(photos):
        await send_photo(chat, n=n + 1)
    await chat.press("Посмотреть и отправить")
    await chat.press("Отправить")


def topics(harness: BotHarness) -> list[int]:
    """The thread ids of the topics made, in order."""
    threads: list[int] = []
    for call in harness.session.calls:
        if isinstance(call, SendMessage) and int(call.chat_id) == OPERATORS:
            thread = call.message_thread_id
            if thread is not None and thread not in threads:
                threads.append(thread)
    return threads


def last_in(operator: ForumMember, thread: int | None) -> Sent:
    sent = operator.in_topic(thread)
    assert sent, f"nothing in topic {thread}: {[m.text for m in operator.messages]}"
    return sent[-1]


async def test_appeal_with_a_photo_goes_to_a_topic_and_the_answer_comes_back(
    desk: BotHarness,
) -> None:
    account = await seed_flat(desk.db)
    resident = await link(desk, 1001, account)
    operator = desk.operator()

    await resident.send(WRITE)
    assert "Выберите тему" in resident.last_text
    assert "24 ч" in resident.last_text
    await resident.press("Счётчик сломался")
    await resident.send("Счётчик холодной воды не крутится")
    photo_id = await send_photo(resident, caption="вот фото")
    assert "Приложено файлов: 1 из 10" in resident.last_text
    await resident.press("Посмотреть и отправить")
    assert "Счётчик холодной воды не крутится" in resident.last_text
    assert "Файлов: 1" in resident.last_text
    await resident.press("Отправить")
    assert "Обращение <b>A-000001</b> отправлено" in resident.last_text

    created = [c for c in desk.session.calls if isinstance(c, CreateForumTopic)]
    assert [c.name for c in created] == ["A-000001 · Счётчик сломался или заменён · 5012345678"]
    [thread] = topics(desk)
    card, text, copy = operator.in_topic(thread)
    assert "Обращение A-000001" in card.text
    assert "Житель: Иван" in card.text
    assert "5012345678" in card.text and "ул. Ленина" in card.text
    assert "CW-00011234: 100 от 20.10.2026; за ноябрь 2026 не переданы" in card.text
    assert "+7916" not in card.text and "79161234567" not in card.text  # never the phone
    assert "Счётчик холодной воды не крутится" in text.text
    assert copy.copied == (1001, photo_id)

    await operator.send("Пришлём мастера в четверг", thread)
    answer = resident.last
    assert "Расчётный центр" in answer.text and "A-000001" in answer.text
    assert "Пришлём мастера в четверг" in answer.text

    await resident.send("Спасибо, буду дома")
    assert "Добавлено к обращению A-000001" in resident.last_text
    assert "Спасибо, буду дома" in last_in(operator, thread).text
    assert topics(desk) == [thread]  # the same topic

    await operator.send("/close", thread)
    assert "закрыто" in resident.last_text
    assert desk.session.calls_of(CloseForumTopic)
    await resident.press("4 ⭐")
    assert "Ваша оценка по обращению A-000001: 4/5" in resident.last_text
    assert "оценил ответ по обращению A-000001: 4/5" in last_in(operator, thread).text

    await resident.send("/appeals")
    assert "A-000001 · Счётчик сломался или заменён" in resident.last_text
    assert "закрыто, ваша оценка 4/5" in resident.last_text


async def test_two_residents_appeals_never_cross(desk: BotHarness) -> None:
    first = await link(desk, 1001, await seed_flat(desk.db))
    second = await link(desk, 1002, await seed_flat(desk.db, "5012345679", "+79161234568"))
    operator = desk.operator()
    await write_appeal(first, "вопрос первого", topic="Вопрос по квитанции")
    await write_appeal(second, "вопрос второго", topic="Поверка")
    one, two = topics(desk)
    await operator.send("ответ второму", two)
    await operator.send("ответ первому", one)
    assert "ответ первому" in first.last_text and "ответ второму" not in first.reply_text
    assert "ответ второму" in second.last_text
    assert not any("ответ первому" in m.text for m in second.messages)
    await second.send("уточнение второго")
    assert "уточнение второго" in last_in(operator, two).text
    assert not any("уточнение второго" in m.text for m in operator.in_topic(one))


async def test_metrics_count_the_open_appeals(desk: BotHarness) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    operator = desk.operator()
    assert "bot_appeals_open 0.0" in (await desk.app.metrics.scrape()).decode()
    await write_appeal(resident, "вопрос")
    assert "bot_appeals_open 1.0" in (await desk.app.metrics.scrape()).decode()
    [thread] = topics(desk)
    await operator.send("/close", thread)
    assert "bot_appeals_open 0.0" in (await desk.app.metrics.scrape()).decode()


async def test_operator_messages_outside_an_appeal_topic_are_ignored(desk: BotHarness) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    operator = desk.operator()
    await write_appeal(resident, "вопрос")
    before = len(resident.messages)
    sent_before = len(desk.session.calls)
    await operator.send("коллеги, кто на смене?")  # General
    await operator.send("обсуждаем в другой теме", 424242)  # a topic of no appeal
    assert len(resident.messages) == before
    assert len(desk.session.calls) == sent_before  # not even an "unknown command" answer


async def test_sla_alert_fires_once_when_an_appeal_waits_too_long(desk: BotHarness) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    operator = desk.operator()
    await write_appeal(resident, "вопрос")
    jobs = desk.app.delivery.jobs

    desk.clock.advance(hours=23, minutes=59)
    await jobs.appeals_job()
    assert operator.in_topic(None) == []
    desk.clock.advance(minutes=2)
    await jobs.appeals_job()
    [alert] = operator.in_topic(None)
    assert "A-000001" in alert.text and "ждёт ответа уже 24 ч" in alert.text
    desk.clock.advance(hours=30)
    await jobs.appeals_job()
    assert len(operator.in_topic(None)) == 1  # once per wait

    # answered, then the resident writes again: a new wait, raised once more after 24 h
    [thread] = topics(desk)
    await operator.send("смотрим", thread)
    await resident.send("а что с ответом?")
    desk.clock.advance(hours=25)
    await jobs.appeals_job()
    assert len(operator.in_topic(None)) == 2


async def test_bot_not_admin_keeps_the_appeal_and_delivers_it_later(desk: BotHarness) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    operator = desk.operator()
    rights = "Bad Request: not enough rights to create a topic"
    desk.session.fail("CreateForumTopic", kind="400", description=rights, times=3)
    await write_appeal(resident, "вопрос", photos=1)
    assert "сохранено" in resident.last_text and "ничего не потеряется" in resident.last_text
    await desk.settle()
    [alert] = desk.chat(777).messages  # the admin
    assert "OPERATOR_CHAT_ID" in alert.text and "not enough rights" in alert.text
    await resident.send("дополнение")
    assert "передадим" in resident.last_text
    desk.clock.advance(minutes=1)  # the job leaves what an update is delivering for 30 s
    await desk.app.delivery.jobs.appeals_job()  # still refused: no second alert
    assert len(desk.chat(777).messages) == 1
    assert operator.messages == []

    await desk.app.delivery.jobs.appeals_job()  # the bot is an admin now
    [thread] = topics(desk)
    texts = [m.text for m in operator.in_topic(thread)]
    assert "Обращение A-000001" in texts[0]
    assert "вопрос" in texts[1]
    assert operator.in_topic(thread)[2].copied is not None
    assert "дополнение" in texts[3]
    await operator.send("ответ", thread)
    assert "ответ" in resident.last_text


async def test_a_resident_who_blocked_the_bot_is_noted_in_the_topic(desk: BotHarness) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    operator = desk.operator()
    await write_appeal(resident, "вопрос")
    [thread] = topics(desk)
    desk.session.fail("SendMessage", 1001, kind="403")
    await operator.send("ответ", thread)
    assert "заблокировал бота" in last_in(operator, thread).text


async def test_an_operators_edit_follows_to_the_resident(desk: BotHarness) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    operator = desk.operator()
    await write_appeal(resident, "вопрос")
    [thread] = topics(desk)
    original = await operator.send("мастер придёт в среду", thread)
    await operator.edit(original, "мастер придёт в четверг")
    assert "в четверг" in resident.last_text and "в среду" not in resident.last_text


async def test_limits_three_open_appeals_ten_attachments_4000_characters(
    desk: BotHarness,
) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    await resident.send("/appeal")
    await resident.press("Другое")
    await resident.send("я" * (MAX_TEXT_LENGTH + 1))
    assert "Слишком длинный текст: 4\xa0001 символов, а можно до 4\xa0000" in resident.last_text
    await resident.send("коротко")
    for n in range(10):
        await send_photo(resident, n=n)
    assert "Приложено файлов: 10 из 10" in resident.last_text
    await send_document(resident)
    assert "не больше 10 файлов" in resident.last_text
    await resident.press("Посмотреть и отправить")
    await resident.press("Отправить")
    await write_appeal(resident, "второе")
    await write_appeal(resident, "третье")
    await resident.send(WRITE)
    assert "уже 3 открытых обращения" in resident.last_text
    assert "A-000003" in resident.last_text
    await send_photo(resident, n=99)  # a follow-up to the newest open one, which has room
    assert "Добавлено к обращению A-000003" in resident.last_text


async def test_stickers_voice_and_video_notes_are_refused_with_a_clear_message(
    desk: BotHarness,
) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    sticker = Sticker(
        file_id="s", file_unique_id="s", type="regular", width=1, height=1,
        is_animated=False, is_video=False,
    )  # fmt: skip
    refusals: list[dict[str, Sticker | Voice | VideoNote]] = [
        {"sticker": sticker},
        {"voice": Voice(file_id="v", file_unique_id="v", duration=3)},
        {"video_note": VideoNote(file_id="n", file_unique_id="n", length=1, duration=3)},
    ]
    await resident.send(WRITE)
    await resident.press("Другое")
    for content in refusals:
        await resident.feed(Update(update_id=next(desk.ids), message=resident._message(**content)))
        assert "текст, фото или документ" in resident.last_text
    await resident.send("вопрос")
    await resident.press("Посмотреть и отправить")
    await resident.press("Отправить")
    await resident.feed(
        Update(update_id=next(desk.ids), message=resident._message(sticker=sticker))
    )
    assert "текст, фото или документ" in resident.last_text  # a follow-up, too


async def test_forget_closes_the_open_appeals_and_removes_the_chat_id(desk: BotHarness) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    operator = desk.operator()
    await write_appeal(resident, "вопрос")
    [thread] = topics(desk)
    await resident.send("/forget")
    await resident.press("Да, удалить")
    assert "удалил свои данные" in last_in(operator, thread).text
    assert desk.session.calls_of(CloseForumTopic)
    row = await desk.db.fetchone("SELECT chat_id, status FROM appeals")
    assert row is not None
    assert tuple(row) == (None, "closed")
    before = len(resident.messages)
    await operator.send("ответ после /forget", thread)
    assert len(resident.messages) == before


async def test_operators_list_open_appeals_oldest_first_with_waiting_time(
    desk: BotHarness,
) -> None:
    first = await link(desk, 1001, await seed_flat(desk.db))
    second = await link(desk, 1002, await seed_flat(desk.db, "5012345679", "+79161234568"))
    operator = desk.operator()
    await write_appeal(first, "раньше")
    desk.clock.advance(hours=2)
    await write_appeal(second, "позже")
    desk.clock.advance(hours=1)
    await operator.send("/appeals")
    listing = last_in(operator, None).text
    assert listing.index("A-000001") < listing.index("A-000002")
    assert (
        "A-000001 · Счётчик сломался или заменён · с 20.11.2026 12:00 — ждёт ответа 3 ч" in listing
    )
    assert "ждёт ответа 1 ч" in listing


async def test_appeals_off_sends_the_resident_to_support(harness: BotHarness) -> None:
    resident = await link(harness, 1001, await seed_flat(harness.db))
    await resident.send(WRITE)
    assert "не принимаются" in resident.last_text and "+7 (495) 000-00-00" in resident.last_text


async def test_typing_instead_of_picking_a_topic_and_adding_text_at_the_preview(
    desk: BotHarness,
) -> None:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    await resident.send(WRITE)
    await resident.send("у меня вопрос")
    assert "Выберите тему кнопкой" in resident.last_text
    await resident.press("Поверка")
    await resident.send("когда поверка?")
    await resident.press("Посмотреть и отправить")
    await resident.send("и сколько стоит?")
    assert "Добавил к тексту обращения" in resident.last_text
    await resident.press("Посмотреть и отправить")
    assert "когда поверка?\n\nи сколько стоит?" in resident.last_text
    await resident.press("Отправить")
    assert "A-000001" in resident.last_text


async def test_help_says_what_to_write_about_and_when_the_answer_comes(desk: BotHarness) -> None:
    resident = desk.chat(1001)
    await resident.send("/help")
    assert "✉️ Написать нам" in resident.last_text
    assert "вопрос по квитанции" in resident.last_text
    assert "в течение 24 ч" in resident.last_text
