"""Handlers are given services by parameter name (bot/containers.py, `Services`): every
parameter a handler asks for is either what aiogram and our middlewares put in the data, or a
field of `Services` with the very type the field has. A handler asking for `db`, a repository
or the FSM storage, or for a service under another name or type, fails here, not at run time
with a missing argument. And every filter they are registered with is a coroutine, which
aiogram awaits, rather than a plain callable, which it runs in a worker thread."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter

from bot.containers import Services
from bot.fsm.submission import Submission
from bot.handlers import get_routers

# What aiogram (its dispatcher, FSM, filters) and aiogram-i18n put in a handler's data.
FRAMEWORK = frozenset(
    {
        "bot",
        "state",
        "raw_state",
        "i18n",
        "callback_data",
        "command",
        "event_chat",
        "event_from_user",
        "event_update",
        "event_router",
    }
)


def handlers(router: Router) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, observer in router.observers.items():
        for handler in observer.handlers:
            yield f"{router.name}.{name}", handler.callback
    for sub in router.sub_routers:
        yield from handlers(sub)


def every_handler() -> list[tuple[str, Callable[..., Any]]]:
    return [found for router in get_routers() for found in handlers(router)]


def asked(callback: Callable[..., Any]) -> dict[str, Any]:
    """The data a handler asks for: its parameters after the event, with their types."""
    hints = typing.get_type_hints(callback)
    params = list(inspect.signature(callback).parameters.values())[1:]
    return {p.name: hints.get(p.name) for p in params if p.kind is not p.VAR_KEYWORD}


def mismatches(found: list[tuple[str, Callable[..., Any]]]) -> list[str]:
    services = typing.get_type_hints(Services)
    wrong = []
    for where, callback in found:
        for name, annotation in asked(callback).items():
            if name in FRAMEWORK:
                continue
            if name not in services:
                wrong.append(f"{where} {callback.__name__}({name}): not a service")
            elif annotation is not services[name]:
                wanted = services[name].__name__
                wrong.append(f"{where} {callback.__name__}({name}): not a {wanted}")
    return wrong


def test_every_handler_asks_for_framework_data_or_a_service_by_its_name_and_type() -> None:
    assert mismatches(every_handler()) == []


def test_every_service_in_the_container_is_asked_for_by_some_handler() -> None:
    wanted = {name for _, callback in every_handler() for name in asked(callback)}
    unused = {field.name for field in dataclasses.fields(Services)} - wanted
    assert unused == set()


async def leaky(message: object, state: object, db: object, submissions: int) -> None:
    raise NotImplementedError


def test_the_check_sees_a_handler_asking_for_the_database_or_a_service_mistyped() -> None:
    router = Router(name="leaky")
    router.message.register(leaky)
    assert mismatches(list(handlers(router))) == [
        "leaky.message leaky(db): not a service",
        "leaky.message leaky(submissions): not a SubmissionService",
    ]


def thread_hopping_filters(routers: list[Router]) -> list[str]:
    """Filters aiogram would run in a worker thread: every plain callable one (a bare State,
    `F.text`), as opposed to a coroutine (bot/handlers/filters.py says why it matters)."""
    found = []

    def visit(router: Router) -> None:
        for name, observer in router.observers.items():
            for handler in observer.handlers:
                for each in handler.filters or ():
                    if not each.awaitable:
                        found.append(f"{router.name}.{name} {handler.callback.__name__}")
        for sub in router.sub_routers:
            visit(sub)

    for router in routers:
        visit(router)
    return found


def test_every_filter_a_handler_is_registered_with_is_a_coroutine() -> None:
    assert thread_hopping_filters(get_routers()) == []


def test_the_filter_check_sees_a_bare_state_and_a_magic_filter() -> None:
    router = Router(name="hops")
    router.message.register(leaky, Submission.confirm)
    router.message.register(leaky, F.text)
    router.message.register(leaky, StateFilter(Submission.confirm))
    assert thread_hopping_filters([router]) == ["hops.message leaky", "hops.message leaky"]
