"""The submission conversation (SPEC §6)."""

from aiogram.fsm.state import State, StatesGroup


class Submission(StatesGroup):
    value = State()  # waiting for the value of the current meter's current zone
    suspicious = State()  # "are you sure?" about a rollover or an unusual consumption
    confirm = State()  # the meter's values shown with Confirm / Change / Cancel
