"""The Dispatcher: middlewares in their order, the routers, the error answer, the services
by parameter name, and what starts and stops with the bot (polling or webhook).

A stop (SIGTERM, polling or webhook) goes in this order: no new update comes in (polling
stopped, or the HTTP server closed); the updates in hand finish, within
SHUTDOWN_GRACE_SECONDS, or are abandoned with one log line; then the shutdown hooks, aiogram's
first (it closes the conversations' storage and the chats' locks), then the delivery jobs';
then the App closes. The texts are never unloaded: whatever still runs can render.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import BotCommand, BotCommandScopeDefault, Update

from bot.config import Settings
from bot.containers import Services, Storage
from bot.handlers import get_routers
from bot.handlers.errors import ErrorAnswer, describe
from bot.i18n import LOCALES, RenderCachingCore, install_i18n
from bot.middlewares import retry_after
from bot.middlewares.activity import ChatActivityMiddleware
from bot.middlewares.chat_scope import FirstLanguage, PrivateChatsOnly
from bot.middlewares.conversation import ConversationFlushMiddleware
from bot.middlewares.leaving import WalkLeftMiddleware
from bot.middlewares.update_watch import UpdateWatchMiddleware
from bot.scheduler import DeliveryJobs
from bot.updates_in_hand import UpdatesInHand

log = logging.getLogger(__name__)

PUBLIC_COMMANDS = (
    "start",
    "submit",
    "meters",
    "history",
    "accounts",
    "settings",
    "language",
    "help",
    "cancel",
    "forget",
    "appeal",
    "appeals",
)
SHUTDOWN_GRACE_SECONDS = 5.0  # updates in hand finish (a part of run.STOP_BUDGET_SECONDS)


class DrainingDispatcher(Dispatcher):
    """aiogram's Dispatcher that finishes the updates in hand before its shutdown hooks.

    An update is held from where both run modes hand it in (`feed_update`: aiogram's polling
    and its webhook handler call it), so one waiting for its chat's lock, or whose error answer
    is being sent, counts too: a middleware cannot sit outside aiogram's own."""

    def __init__(self, *, grace: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.in_hand = UpdatesInHand(grace)

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        with self.in_hand.hold(update.update_id):
            try:
                return await super().feed_update(bot, update, **kwargs)
            except Exception as exc:  # the error answer failed: in webhook mode none would see it
                log.error("update %s: the error answer failed: %s", update.update_id, describe(exc))
                return None

    async def emit_shutdown(self, *args: Any, **kwargs: Any) -> None:
        await self.in_hand.finish()  # before any hook: aiogram's first closes the FSM storage
        await super().emit_shutdown(*args, **kwargs)


def create_dispatcher(
    *,
    settings: Settings,
    bot: Bot,
    core: RenderCachingCore,
    storage: Storage,
    services: Services,
    activity: ChatActivityMiddleware,
    jobs: DeliveryJobs,
    watch: UpdateWatchMiddleware,
) -> DrainingDispatcher:
    locales, default_locale = services.locales, settings.default_locale
    dp = DrainingDispatcher(
        grace=SHUTDOWN_GRACE_SECONDS,
        storage=storage.fsm,
        events_isolation=storage.fsm.create_isolation(),
    )
    watch.install(dp)  # the update's log line and metrics: outer, and where a handler is picked
    retry_after.install(dp, bot)
    dp.update.outer_middleware(
        PrivateChatsOnly(
            storage.chats, core, services.clock, default_locale, settings.operator_chat_id
        )
    )
    dp.update.outer_middleware(FirstLanguage(locales))
    dp.update.outer_middleware(ConversationFlushMiddleware(storage.fsm))
    dp.shutdown.register(jobs.on_shutdown)  # after the updates in hand (DrainingDispatcher)
    install_i18n(dp, core, locales, default_locale)
    dp.update.outer_middleware(activity)
    dp.update.outer_middleware(WalkLeftMiddleware())  # after state and i18n: it uses both
    dp.workflow_data.update(services.by_name())
    dp.include_routers(*get_routers())
    support = settings.support_contact
    dp.errors.register(ErrorAnswer(core, locales, default_locale, support).handle)
    dp.startup.register(jobs.on_startup)
    return dp


async def register_commands(bot: Bot, core: RenderCachingCore, default_locale: str) -> None:
    """The command menu, in each language, and in the default one for the rest."""
    for locale in LOCALES:
        commands = [
            BotCommand(command=name, description=core.get(f"cmd-{name}", locale))
            for name in PUBLIC_COMMANDS
        ]
        await bot.set_my_commands(commands, BotCommandScopeDefault(), language_code=locale)
        if locale == default_locale:
            await bot.set_my_commands(commands, BotCommandScopeDefault())
