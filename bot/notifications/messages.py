"""A message as the notifications side builds it and the Sender sends it."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup

from bot.services.ports import Message


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a resident will see it."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None

    @staticmethod
    def of(message: Message) -> Outgoing:
        """The message a renderer of this package built, handed back by a service."""
        if not isinstance(message, Outgoing):
            raise TypeError(f"not a message of bot.notifications: {type(message).__name__}")
        return message
