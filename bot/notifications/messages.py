"""A message as the notifications side builds it and the Sender sends it."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup

from bot.keyboards.reminders import ButtonColumn, column_keyboard
from bot.services.ports import Message


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a resident will see it: its lines and its buttons.

    A claimed batch waits with up to 1,000 messages, so each is kept small until its request is
    made (docs/benchmarks.md, "Broadcast memory, stop 19"): the text as its lines, where those
    every chat shares (a reminder's title and footer) are one string for all, and the buttons as
    strings, not aiogram's keyboard models, which took more memory than the text.
    """

    lines: tuple[str, ...]
    buttons: ButtonColumn = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def reply_markup(self) -> InlineKeyboardMarkup | None:
        return column_keyboard(self.buttons) if self.buttons else None

    @staticmethod
    def of(message: Message) -> Outgoing:
        """The message a renderer of this package built, handed back by a service."""
        if not isinstance(message, Outgoing):
            raise TypeError(f"not a message of bot.notifications: {type(message).__name__}")
        return message
