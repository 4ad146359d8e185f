"""Routers, built fresh on every call: a router can be attached to one dispatcher only."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    accounts,
    admin,
    broadcast,
    common,
    history,
    linking,
    meters,
    settings,
    submit,
)


def get_routers() -> list[Router]:
    # Commands and menu buttons come first, so they work (and leave the flow) in any state;
    # the fallback comes last.
    return [
        common.get_router(),
        accounts.get_router(),
        settings.get_router(),
        submit.get_menu_router(),
        meters.get_router(),
        history.get_router(),
        admin.get_router(),
        broadcast.get_router(),
        linking.get_router(),
        submit.get_router(),
        common.get_fallback_router(),
    ]
