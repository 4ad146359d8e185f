"""The operators' chart (/stats in the chat, `python -m bot stats --chart FILE`): share of
meters read by day of the submission window, a period against the two before it, as a PNG.

matplotlib is imported on the first chart, not with the bot: its import costs ~0.5 s and tens
of MB, which a bot that never draws should not pay. Drawn on a `Figure` of its own (Agg, no
pyplot and its global state), so charts may be drawn in a worker thread, off the event loop.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.periods import Period
from bot.services.progress import ReadingProgress

WIDTH, HEIGHT = 800, 450  # pixels: wide enough for a phone's screen turned or not
DPI = 100
# the period asked stands out; the earlier ones recede
STYLES: tuple[dict[str, Any], ...] = (
    {"color": "#1f6fb4", "linewidth": 2.6, "marker": "o", "markersize": 3.5, "zorder": 3},
    {"color": "#e07b39", "linewidth": 1.6, "linestyle": "--", "zorder": 2},
    {"color": "#8c8c8c", "linewidth": 1.4, "linestyle": ":", "zorder": 1},
)


@dataclass(frozen=True, slots=True)
class ChartText:
    """The words on the chart, in the reader's language (locales/*/admin_stats.ftl)."""

    title: str
    days: str  # the x axis
    share: str  # the y axis
    period_names: tuple[str, ...]  # the legend, in the order of ReadingProgress.periods


def chart_text(translate: Callable[..., str], progress: ReadingProgress) -> ChartText:
    """The words for `progress`; `translate(key, **args)` renders a text of the reader's
    locale (an I18nContext's `get` in the chat, the Fluent core's in the command line)."""

    def name(period: Period) -> str:  # as bot.rendering.period_name writes it
        return translate("submit-period", month=period.month, year=str(period.year))

    return ChartText(
        title=translate("stats-chart-title", meters=progress.meters),
        days=translate("stats-chart-days"),
        share=translate("stats-chart-share"),
        period_names=tuple(name(shown.period) for shown in progress.periods),
    )


def progress_png(progress: ReadingProgress, text: ChartText) -> bytes:
    """The chart as a WIDTH x HEIGHT PNG. CPU-bound (~0.1 s): run it in a thread."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    for shown, name, style in zip(progress.periods, text.period_names, STYLES, strict=False):
        days = range(1, len(shown.shares) + 1)
        axes.plot(days, [share * 100 for share in shown.shares], label=name, **style)
    axes.set_title(text.title)
    axes.set_xlabel(text.days)
    axes.set_ylabel(text.share)
    axes.set_xlim(1, max(progress.days, 2))
    axes.set_ylim(0, 100)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
