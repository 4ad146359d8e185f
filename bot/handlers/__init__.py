"""Routers, built fresh on every call: a router can be attached to one dispatcher only."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import accounts, common, linking, settings


def get_routers() -> list[Router]:
    # Commands and menu buttons come first, so they work (and leave the flow) in any state;
    # the fallback comes last.
    return [
        common.get_router(),
        accounts.get_router(),
        settings.get_router(),
        linking.get_router(),
        common.get_fallback_router(),
    ]
