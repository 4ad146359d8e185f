from aiogram.fsm.state import State, StatesGroup


class BroadcastForm(StatesGroup):
    text = State()
    confirm = State()
