"""A message as the notifications side builds it and the Sender sends it."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup

from bot.keyboards.reminders import ButtonColumn, column_keyboard
from bot.services.ports import Message


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a resident will see it.

    The buttons are kept as strings and become aiogram's keyboard models only when the request
    is made: a claimed batch waits with 1,000 messages or more, and the models took more memory
    than the text (docs/benchmarks.md, "Broadcast memory, stop 19").
    """

    text: str
    buttons: ButtonColumn = ()

    @property
    def reply_markup(self) -> InlineKeyboardMarkup | None:
        return column_keyboard(self.buttons) if self.buttons else None

    @staticmethod
    def of(message: Message) -> Outgoing:
        """The message a renderer of this package built, handed back by a service."""
        if not isinstance(message, Outgoing):
            raise TypeError(f"not a message of bot.notifications: {type(message).__name__}")
        return message
