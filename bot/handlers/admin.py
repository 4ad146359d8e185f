"""/stats and /export for operators (SPEC §8); for anyone else they are unknown commands."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram_i18n import I18nContext

from bot.charts import chart_text, progress_png
from bot.domain.periods import Period
from bot.handlers.filters import IsAdmin
from bot.rendering import period_name
from bot.services.export import ExportService, Stats
from bot.services.outbox_figures import OutboxFigures, OutboxStatus

# Telegram's limit on a file a bot uploads is 50 MB; counted in decimal megabytes (the smaller
# reading of "MB"), with room left for the upload's own envelope. Tests lower it.
UPLOAD_LIMIT = 50_000_000


def _typed_period(command: CommandObject) -> Period | None:
    """The period typed after the command, None when none; ValueError when malformed."""
    text = (command.args or "").strip()
    return Period.parse(text) if text else None


def _outbox_text(i18n: I18nContext, figures: OutboxFigures) -> str:
    if not figures.enabled:
        return i18n.get("stats-outbox-off")
    lines = [
        i18n.get(
            "stats-outbox",
            pending=figures.count("pending"),
            delivered=figures.count("delivered"),
            refused=figures.count("refused"),
            dead=figures.count("dead"),
        )
    ]
    if figures.oldest_waiting is not None:
        minutes = int(figures.oldest_waiting.total_seconds() // 60)
        lines.append(i18n.get("stats-outbox-oldest", minutes=minutes))
    if figures.stopped:
        lines.append(i18n.get("stats-outbox-stopped"))
    return "\n".join(lines)


async def stats(
    message: Message,
    command: CommandObject,
    i18n: I18nContext,
    exports: ExportService,
    outbox: OutboxStatus,
) -> None:
    try:
        period = _typed_period(command)
    except ValueError:
        await message.answer(i18n.get("stats-bad-period"))
        return
    figures = await exports.stats(period)
    await message.answer(
        i18n.get(
            "stats-text",
            period=period_name(i18n, figures.period),
            linked_chats=figures.linked_chats,
            accounts=figures.accounts,
            linked_accounts=figures.linked_accounts,
            meters=figures.meters,
            with_reading=figures.meters_with_reading,
            share=figures.share,
            submissions=figures.submissions,
            corrections=figures.corrections,
        )
        + "\n\n"
        + _outbox_text(i18n, await outbox.figures())
    )
    await message.answer_photo(await _chart(i18n, exports, figures))


async def _chart(i18n: I18nContext, exports: ExportService, figures: Stats) -> BufferedInputFile:
    """The share read by day of the window, this period against the two before (a PNG)."""
    progress = await exports.progress(figures.period, figures.meters)
    text = chart_text(i18n.get, progress)
    # drawing is CPU work of ~0.1-0.3 s (and matplotlib's import, the first time): off the loop
    png = await asyncio.to_thread(progress_png, progress, text)
    return BufferedInputFile(png, filename=f"stats-{figures.period}.png")


async def export(
    message: Message, command: CommandObject, i18n: I18nContext, exports: ExportService
) -> None:
    try:
        period = _typed_period(command)
    except ValueError:
        await message.answer(i18n.get("export-bad-period"))
        return
    exported = await exports.period_file(period, zip_over=UPLOAD_LIMIT)
    shown = period_name(i18n, exported.period)
    if len(exported.data) > UPLOAD_LIMIT:  # too large even zipped
        await message.answer(
            i18n.get(
                "export-too-large", period=shown, rows=exported.rows, code=str(exported.period)
            )
        )
        return
    caption = "export-caption-zipped" if exported.zipped else "export-caption"
    await message.answer_document(
        BufferedInputFile(exported.data, filename=exported.name),
        caption=i18n.get(caption, period=shown, rows=exported.rows),
    )


def get_router() -> Router:
    router = Router(name="admin")
    router.message.filter(IsAdmin())
    router.message.register(stats, Command("stats"))
    router.message.register(export, Command("export"))
    return router
