"""Routers, built fresh on every call: a router can be attached to one dispatcher only."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    accounts,
    admin,
    appeal_desk,
    appeals,
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
    # the fallback comes last. The submission flow's typed values and buttons come before
    # them all: it leaves commands and menu buttons alone, and it is what the monthly rush
    # types, so those updates pass one router instead of ten.
    # The operators' chat of appeals comes next: nothing said there is a resident's (its
    # members are never in a walk there, so the flow's router leaves their messages alone).
    return [
        submit.get_router(),
        appeal_desk.get_router(),
        common.get_router(),
        accounts.get_router(),
        settings.get_router(),
        submit.get_menu_router(),
        meters.get_router(),
        history.get_router(),
        admin.get_router(),
        broadcast.get_router(),
        appeals.get_router(),
        linking.get_router(),
        appeals.get_flow_router(),
        submit.get_non_text_router(),
        appeals.get_follow_up_router(),
        common.get_fallback_router(),
    ]
