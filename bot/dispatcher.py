"""The Dispatcher: middlewares in their order, the routers, the error answer, the services
by parameter name, and what starts and stops with the bot (polling or webhook)."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.types import BotCommand, BotCommandScopeDefault

from bot.config import Settings
from bot.containers import Services, Storage
from bot.handlers import get_routers
from bot.handlers.errors import ErrorAnswer
from bot.i18n import LOCALES, RenderCachingCore, create_i18n_middleware
from bot.middlewares import retry_after
from bot.middlewares.activity import ChatActivityMiddleware, InFlightMiddleware
from bot.middlewares.chat_scope import FirstLanguage, PrivateChatsOnly
from bot.middlewares.conversation import ConversationFlushMiddleware
from bot.middlewares.leaving import WalkLeftMiddleware
from bot.middlewares.metrics import UpdateMetricsMiddleware
from bot.middlewares.update_log import UpdateLogMiddleware
from bot.scheduler import DeliveryJobs

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
SHUTDOWN_GRACE_SECONDS = 5.0  # updates in hand finish (of the 10 s a SIGTERM stop may take)


def create_dispatcher(
    *,
    settings: Settings,
    bot: Bot,
    core: RenderCachingCore,
    storage: Storage,
    services: Services,
    middlewares: tuple[InFlightMiddleware, ChatActivityMiddleware],
    jobs: DeliveryJobs,
    metrics: UpdateMetricsMiddleware,
) -> Dispatcher:
    in_flight, activity = middlewares
    locales, default_locale = services.locales, settings.default_locale
    dp = Dispatcher(storage=storage.fsm, events_isolation=storage.fsm.create_isolation())
    dp.update.outer_middleware(in_flight)
    metrics.install(dp)  # outer on updates, and where aiogram names the handler it picked
    UpdateLogMiddleware().install(dp)  # the same, for the update's log line
    retry_after.install(dp, bot)
    dp.update.outer_middleware(
        PrivateChatsOnly(
            storage.chats, core, services.clock, default_locale, settings.operator_chat_id
        )
    )
    dp.update.outer_middleware(FirstLanguage(locales))
    dp.update.outer_middleware(ConversationFlushMiddleware(storage.fsm))

    async def drain() -> None:
        if not await in_flight.drain(SHUTDOWN_GRACE_SECONDS):
            log.warning("stopped with updates still in hand after %.0f s", SHUTDOWN_GRACE_SECONDS)

    # Shutdown hooks run in the order registered: the updates in hand and the sends finish
    # before the i18n middleware's own hook clears the texts they render.
    dp.shutdown.register(drain)
    dp.shutdown.register(jobs.on_shutdown)
    create_i18n_middleware(core, locales, default_locale).setup(dp)
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
