"""The Grafana dashboard (deploy/grafana) shows only series the bot exports: a panel over a
renamed or missing series would stay empty without anyone noticing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.metrics import BotMetrics

DASHBOARDS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "grafana").glob("*.json"))

# What a PromQL expression may hold besides series names
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
OPERATORS = {"and", "or", "unless"}
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
    "info": ("_info",),
}


def exported_series() -> set[str]:
    """Every series name the bot's registry can write, labelled ones included."""
    names: set[str] = set()
    for family in BotMetrics().registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def series_in(expr: str) -> set[str]:
    """The series names of a PromQL expression: identifiers that are not functions (followed
    by `(`), keywords, label names (inside `{}` and after by/without/on/ignoring), durations
    or variables."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    bare = re.sub(r"\{[^}]*\}", "", bare)  # matchers
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges and subqueries
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", bare)  # grouping labels
    names = set()
    # not the tail of a number, a duration (`1h`) or a `$variable`
    for match in re.finditer(r"(?<![\w$.])[A-Za-z_:][A-Za-z0-9_:]*", bare):
        word, after = match.group(), bare[match.end() :].lstrip()
        if after.startswith("(") or word in KEYWORDS | OPERATORS:
            continue
        names.add(word)
    return names


def test_the_dashboards_are_there_and_valid_json() -> None:
    assert DASHBOARDS, "no dashboard in deploy/grafana"
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        assert list(expressions(dashboard)), f"{path.name}: no query"


def test_every_query_reads_only_series_the_bot_exports() -> None:
    exported = exported_series()
    unknown = [
        f"{path.name}: {title}: {name}"
        for path in DASHBOARDS
        for title, expr in expressions(json.loads(path.read_text(encoding="utf-8")))
        for name in sorted(series_in(expr))
        if name not in exported
    ]
    assert unknown == []


def test_every_series_is_on_a_panel() -> None:
    """A series nobody looks at is either missing from the dashboard or not needed."""
    shown = {
        name
        for path in DASHBOARDS
        for _, expr in expressions(json.loads(path.read_text(encoding="utf-8")))
        for name in series_in(expr)
    }
    families = {family.name for family in BotMetrics().registry.collect()}
    assert {f for f in families if not any(name.startswith(f) for name in shown)} == set()


def test_the_series_reader_is_not_fooled_by_labels_and_functions() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, area) (rate(bot_update_seconds_bucket{area="x"}'
        "[$__rate_interval]))) / ignoring(area) max(bot_sms_budget_left offset 1h)"
    )
    assert series_in(expr) == {"bot_update_seconds_bucket", "bot_sms_budget_left"}
