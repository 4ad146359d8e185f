"""Submitting readings (SPEC §6): the walk through due meters, a single pick, the receipt.

Three routers. The walk's typed values and buttons go first of all: they leave commands and
menu buttons to the routers after them (ConversationInput), and each router an update passes
costs ~25 µs, so the values typed in the monthly rush pass one router, not ten. The entry
points (menu button, /submit, meter picks, the reminders' button) go with the other commands
and menus. Messages without text in the walk go after the other conversations, where a command
in a photo's caption has already been taken by its router.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.fsm.submission import Submission
from bot.handlers.filters import ConversationInput, HasText, MenuButton
from bot.handlers.submit.buttons import confirm, step
from bot.handlers.submit.menu import pick, submit, submit_from_button
from bot.handlers.submit.values import typed_at_confirmation, value_not_text, value_typed
from bot.keyboards.callbacks import SubmitPickCb, SubmitStartCb, SubmitStepCb

_IN_VALUE = StateFilter(Submission.value, Submission.suspicious)
_CONFIRMING = StateFilter(Submission.confirm)


def get_menu_router() -> Router:
    """Entry points: they work in any state and start afresh."""
    router = Router(name="submit-menu")
    router.message.register(submit, Command("submit"))
    router.message.register(submit, MenuButton("menu-submit"))
    router.callback_query.register(submit_from_button, SubmitStartCb.filter())
    router.callback_query.register(pick, SubmitPickCb.filter())
    return router


def get_router() -> Router:
    """The walk: typed values, "are you sure?", Confirm / Change / Cancel, Skip."""
    router = Router(name="submit-flow")
    # commands fall through to the fallback ("unknown command"), keeping the walk
    router.message.register(value_typed, _IN_VALUE, ConversationInput())
    router.message.register(typed_at_confirmation, _CONFIRMING, ConversationInput())
    router.callback_query.register(confirm, SubmitStepCb.filter(F.action == "confirm"))
    router.callback_query.register(step, SubmitStepCb.filter())
    return router


def get_non_text_router() -> Router:
    """Stickers, photos, voice messages in the walk: after every router a caption may reach."""
    router = Router(name="submit-flow-non-text")
    router.message.register(value_not_text, _IN_VALUE, HasText(False))
    router.message.register(typed_at_confirmation, _CONFIRMING, HasText(False))
    return router
