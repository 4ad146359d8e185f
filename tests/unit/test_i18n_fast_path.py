"""Texts of text and `{ $variable }` only are joined without Fluent, to the same characters."""

from __future__ import annotations

import asyncio
import functools
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from aiogram_i18n.cores import FluentRuntimeCore
from aiogram_i18n.exceptions import FluentMessageError, KeyNotFoundError
from fluent.runtime.resolver import MAX_PART_LENGTH
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.i18n import LOCALES_DIR, RenderCachingCore, compile_plan

CORE = RenderCachingCore(path=LOCALES_DIR / "{locale}", default_locale="ru")
asyncio.run(CORE.startup())

PLANNED = sorted(
    (locale, message_id)
    for locale, bundle in CORE.locales.items()
    for message_id in bundle._messages
    if compile_plan(bundle, message_id) is not None
)

TRICKY = [
    "",
    " ",
    "\n",
    "{",
    "}",
    "{ $value }",
    '{"x"}',
    "<b>&amp;</b>",
    "<a href='x'>",
    "Ёлка № 5",
    "\u2068x\u2069",
    "\\u0041",
    "x" * MAX_PART_LENGTH,
]
STRINGS = st.one_of(st.sampled_from(TRICKY), st.text(), st.text("абвгдЁё {}<>&\n\\\"'$-*["))


def fluent(message_id: str, locale: str | None, **kwargs: object) -> str:
    """What Fluent itself renders, past the fast path and the memory."""
    return FluentRuntimeCore.get(CORE, message_id, locale, **kwargs)


def variables(locale: str, message_id: str) -> list[str]:
    plan = compile_plan(CORE.locales[locale], message_id)
    assert plan is not None
    return sorted({name for _, name in plan.slots})


def test_most_texts_have_a_plan() -> None:
    for locale in ("ru", "en"):
        for message_id in ("submit-confirm-line", "submit-receipt", "submit-summary-line"):
            assert (locale, message_id) in PLANNED
    assert len(PLANNED) > 100


@pytest.mark.parametrize(("locale", "message_id"), PLANNED)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_joined_text_is_the_text_fluent_renders(
    locale: str, message_id: str, data: st.DataObject
) -> None:
    names = variables(locale, message_id)
    args = data.draw(st.fixed_dictionaries(dict.fromkeys(names, STRINGS)), label="args")
    extra = data.draw(st.dictionaries(st.sampled_from(["unused", "other"]), STRINGS), label="extra")
    kwargs = {**extra, **args}
    plan = compile_plan(CORE.locales[locale], message_id)
    assert plan is not None
    expected = fluent(message_id, locale, **kwargs)
    assert plan.render(kwargs) == expected  # the fast path itself, not a fallback
    assert CORE.get(message_id, locale, **kwargs) == expected


@given(value=STRINGS)
@example(value="12 345,6")
def test_a_locale_without_files_is_the_default_one(value: str) -> None:
    args = {"label": "T1", "value": value, "spent": "—"}
    assert CORE.get("submit-confirm-line", "de", **args) == fluent(
        "submit-confirm-line", "de", **args
    )
    assert CORE.get("submit-confirm-line", "de", **args) == CORE.get(
        "submit-confirm-line", "ru", **args
    )


RECEIPT = {"title": "Холодная вода", "lines": "T1: <b>5</b>", "period": "ноябрь", "time": "10:00"}


@pytest.mark.parametrize("receipt", [1_234_567, 1000, 7, 12.5, -3000])
@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_number_is_formatted_by_fluent(locale: str, receipt: float) -> None:
    text = CORE.get("submit-receipt", locale, receipt=receipt, **RECEIPT)
    assert text == fluent("submit-receipt", locale, receipt=receipt, **RECEIPT)


def test_a_big_number_keeps_babels_grouping() -> None:
    text = CORE.get("submit-receipt", "ru", receipt=1_234_567, **RECEIPT)
    assert "1\xa0234\xa0567" in text
    assert "1234567" not in text


def test_a_missing_argument_still_raises() -> None:
    with pytest.raises(FluentMessageError):
        fluent("submit-receipt", "ru", **RECEIPT)
    with pytest.raises(FluentMessageError):
        CORE.get("submit-receipt", "ru", **RECEIPT)


def test_an_argument_of_another_type_goes_through_fluent() -> None:
    with pytest.raises(FluentMessageError):
        fluent("submit-receipt", "ru", receipt=[1], **RECEIPT)
    with pytest.raises(FluentMessageError):
        CORE.get("submit-receipt", "ru", receipt=[1], **RECEIPT)
    with pytest.raises(FluentMessageError):
        CORE.get("submit-receipt", "ru", receipt=None, **RECEIPT)


def test_a_too_long_argument_still_raises() -> None:
    longest = "x" * MAX_PART_LENGTH
    assert longest in CORE.get("submit-receipt", "ru", receipt=longest, **RECEIPT)
    with pytest.raises(FluentMessageError):
        fluent("submit-receipt", "ru", receipt=longest + "x", **RECEIPT)
    with pytest.raises(FluentMessageError):
        CORE.get("submit-receipt", "ru", receipt=longest + "x", **RECEIPT)


@pytest.mark.parametrize("resource", ["hot_water", "cold_water", "unknown", ""])
@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_selector_is_rendered_by_fluent(locale: str, resource: str) -> None:
    assert compile_plan(CORE.locales[locale], "meters-resource") is None
    assert CORE.get("meters-resource", locale, resource=resource) == fluent(
        "meters-resource", locale, resource=resource
    )


def test_a_missing_message_still_raises() -> None:
    with pytest.raises(KeyNotFoundError):
        CORE.get("no-such-message", "ru")


async def test_isolation_marks_turn_the_fast_path_off() -> None:
    isolating = RenderCachingCore(
        path=LOCALES_DIR / "{locale}", default_locale="ru", use_isolating=True
    )
    await isolating.startup()
    args = {"label": "T1", "value": "5", "spent": "—"}
    text = isolating.get("submit-confirm-line", "ru", **args)
    assert text == FluentRuntimeCore.get(isolating, "submit-confirm-line", "ru", **args)
    assert "\u2068T1\u2069" in text


SOURCES = {
    "text": "plain = Just text\n",
    "literal": 'quoted = {"  "}padded{" {x} "}\n',
    "lone": "lone = { $x }\n",
    "escapes": 'escaped = {"\\u0041\\\\"}{ $x }\n',
    "multiline": "lines =\n    first { $x }\n      indented\n\n    last\n",
    "term": "-brand = Meter\nbranded = { -brand }: { $x }\n",
    "reference": "base = Base\nreferring = { base } { $x }\n",
    "number": "numbered = { 5 } { $x }\n",
    "function": "fn = { NUMBER($x) }\n",
}


@functools.cache
def core_of(source: str) -> RenderCachingCore:
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "ru").mkdir()
        (Path(root) / "ru" / "m.ftl").write_text(source, encoding="utf8")
        core = RenderCachingCore(path=Path(root) / "{locale}", default_locale="ru")
        asyncio.run(core.startup())  # reads the files now
    return core


def outcome(render: Callable[[], str]) -> tuple[str, str]:
    try:
        return "text", render()
    except FluentMessageError as e:
        return "error", str(e)


@pytest.mark.parametrize("source", SOURCES.values(), ids=SOURCES.keys())
@settings(max_examples=20, deadline=None)
@given(x=STRINGS)
def test_other_constructs_render_as_fluent_does(source: str, x: str) -> None:
    core = core_of(source)
    for message_id in core.locales["ru"]._messages:
        expected = outcome(lambda: FluentRuntimeCore.get(core, message_id, "ru", x=x))  # noqa: B023
        assert outcome(lambda: core.get(message_id, "ru", x=x)) == expected  # noqa: B023


def test_plans_are_made_only_of_text_and_variables() -> None:
    def planned(source: str) -> bool:
        bundle = core_of(source).locales["ru"]
        return compile_plan(bundle, list(bundle._messages)[-1]) is not None

    assert {name for name, source in SOURCES.items() if planned(source)} == {
        "text",
        "literal",
        "lone",
        "escapes",
        "multiline",
    }
