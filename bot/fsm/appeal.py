"""The appeal a resident writes (SPEC §11): topic, text, attachments, preview."""

from aiogram.fsm.state import State, StatesGroup


class WriteAppeal(StatesGroup):
    topic = State()
    text = State()
    attachments = State()
    preview = State()
