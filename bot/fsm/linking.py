from aiogram.fsm.state import State, StatesGroup


class LinkAccount(StatesGroup):
    account_number = State()
    phone = State()
    code = State()
