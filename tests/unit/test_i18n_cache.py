"""Rendered texts are remembered: the same message, locale and arguments give the same text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiogram_i18n.cores import FluentRuntimeCore

from bot.i18n import LOCALES_DIR, RenderCachingCore

CASES: list[tuple[str, dict[str, Any]]] = [
    ("submit-confirm", {}),
    ("submit-position", {"n": 2, "total": 3}),
    ("submit-period", {"month": 11, "year": "2026"}),
    ("meters-resource", {"resource": "hot_water"}),
    ("submit-summary", {"count": 3}),
    ("submit-summary", {"count": 1}),
]


_PLAIN: list[FluentRuntimeCore] = []


@pytest.fixture
async def cores() -> tuple[RenderCachingCore, FluentRuntimeCore]:
    """A fresh caching core, and plain Fluent to compare with (it keeps nothing between
    renders, so it is parsed once for the module: parsing the texts takes a few tenths of a
    second)."""
    cached = RenderCachingCore(path=LOCALES_DIR / "{locale}", default_locale="ru")
    await cached.startup()
    if not _PLAIN:
        plain = FluentRuntimeCore(path=LOCALES_DIR / "{locale}", default_locale="ru")
        await plain.startup()
        _PLAIN.append(plain)
    return cached, _PLAIN[0]


@pytest.mark.parametrize("locale", ["ru", "en"])
@pytest.mark.parametrize(("message", "args"), CASES)
async def test_a_remembered_text_is_the_text_fluent_renders(
    cores: tuple[RenderCachingCore, FluentRuntimeCore],
    locale: str,
    message: str,
    args: dict[str, Any],
) -> None:
    cached, plain = cores
    expected = plain.get(message, locale, **args)
    assert cached.get(message, locale, **args) == expected
    assert cached.get(message, locale, **args) == expected  # the second time from memory


async def test_unhashable_arguments_are_rendered_every_time(
    cores: tuple[RenderCachingCore, FluentRuntimeCore],
) -> None:
    cached, plain = cores
    assert cached.get("submit-value-label", "ru", unused=[1]) == plain.get(
        "submit-value-label", "ru"
    )


async def test_the_memory_starts_afresh_when_full(
    cores: tuple[RenderCachingCore, FluentRuntimeCore], monkeypatch: pytest.MonkeyPatch
) -> None:
    cached, _ = cores
    monkeypatch.setattr(RenderCachingCore, "MAX_TEXTS", 3)
    for year in range(2020, 2030):
        cached.get("submit-period", "ru", month=1, year=str(year))
    assert len(cached._rendered) <= 3


@pytest.mark.parametrize("value", ["5", 5])  # a str and a number: both remembered
async def test_translations_loaded_again_replace_what_was_remembered(
    tmp_path: Path, value: str | int
) -> None:
    (tmp_path / "ru").mkdir()
    source = tmp_path / "ru" / "m.ftl"
    source.write_text("line = Old { $value }\n", encoding="utf8")
    core = RenderCachingCore(path=tmp_path / "{locale}", default_locale="ru")
    await core.startup()
    assert core.get("line", "ru", value=value) == "Old 5"
    source.write_text("line = New { $value }\n", encoding="utf8")
    await core.startup()
    assert core.get("line", "ru", value=value) == "New 5"


async def test_a_text_for_one_reader_is_rendered_but_not_remembered(
    cores: tuple[RenderCachingCore, FluentRuntimeCore],
) -> None:
    cached, plain = cores
    cached.get("submit-confirm", "ru")
    for number in range(100):
        args = {"number": f"50{number:08d}"}
        assert cached.get_once("remind-account", "en", **args) == plain.get(
            "remind-account", "en", **args
        )
    assert len(cached._rendered) == 1  # only the text that repeats
