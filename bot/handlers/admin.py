"""/stats and /export for operators (SPEC §8); for anyone else they are unknown commands."""

from __future__ import annotations

import io

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import BufferedInputFile, Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.rendering import period_name
from bot.services.export import collect_stats, default_period, export_period
from bot.services.submissions import SubmissionService
from bot.storage.db import Database


class IsAdmin(Filter):
    """Does not match for others, so their update falls through to "unknown command"."""

    async def __call__(self, message: Message, settings: Settings) -> bool:
        return message.from_user is not None and message.from_user.id in settings.admin_ids


def _default_window(settings: Settings) -> SubmissionWindow:
    return SubmissionWindow(settings.window_start_day, settings.window_end_day)


def _typed_period(command: CommandObject) -> Period | None:
    """The period typed after the command, None when none; ValueError when malformed."""
    text = (command.args or "").strip()
    return Period.parse(text) if text else None


def get_router() -> Router:
    router = Router(name="admin")
    router.message.filter(IsAdmin())

    @router.message(Command("stats"))
    async def stats(
        message: Message,
        command: CommandObject,
        i18n: I18nContext,
        db: Database,
        settings: Settings,
        submissions: SubmissionService,
    ) -> None:
        try:
            period = _typed_period(command)
        except ValueError:
            await message.answer(i18n.get("stats-bad-period"))
            return
        figures = await collect_stats(
            db, period, submissions.today(), window=_default_window(settings)
        )
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
        )

    @router.message(Command("export"))
    async def export(
        message: Message,
        command: CommandObject,
        i18n: I18nContext,
        db: Database,
        settings: Settings,
        submissions: SubmissionService,
    ) -> None:
        try:
            period = _typed_period(command)
        except ValueError:
            await message.answer(i18n.get("export-bad-period"))
            return
        if period is None:
            period = default_period(_default_window(settings), submissions.today())
        out = io.StringIO()
        rows = await export_period(db, period, out, settings.tz)
        await message.answer_document(
            BufferedInputFile(out.getvalue().encode("utf-8"), filename=f"readings-{period}.csv"),
            caption=i18n.get("export-caption", period=period_name(i18n, period), rows=rows),
        )

    return router
