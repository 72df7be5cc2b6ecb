"""The report's sections as tables of typed cells: the page shows each cell's text, the CSV
and XLSX exports its value (numbers as numbers, money with the plan currency's format)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from services.metrics.reporting.columns import figure, objective_lines
from services.metrics.reporting.data import ChannelLine, ReportData, Trend, ratio
from services.metrics.reporting.i18n import Words
from services.metrics.schemas import DecompositionNodeRead

Kind = Literal["text", "money", "percent", "number", "date"]
_UNNAMED = ("plan level", "unmapped channel")  # facts of no channel of the plan


@dataclass(frozen=True)
class Cell:
    """What the reader sees, and the value an export writes."""

    text: str
    value: Decimal | date | str | None = None
    kind: Kind = "text"
    note: str = ""


@dataclass
class Table:
    """One section of the report."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def _text(text: str) -> Cell:
    return Cell(text, text)


def _money(words: Words, amount: Decimal | None) -> Cell:
    return Cell(words.money(amount), amount, "money" if amount is not None else "text")


def _percent(words: Words, share: Decimal | None, digits: int = 0) -> Cell:
    return Cell(words.percent(share, digits), share, "percent" if share is not None else "text")


def _number(words: Words, value: Decimal | None) -> Cell:
    return Cell(words.number(value), value, "number" if value is not None else "text")


def objectives(data: ReportData, words: Words) -> Table:
    """The §6 table: every column filled, or saying why not."""
    table = Table(
        "objectives",
        words("Objectives"),
        [
            words("Dimension"),
            words("Metric"),
            words("Target"),
            words("Actual"),
            words("Achievement"),
            words("Period before"),
            words("Earlier versions"),
            words("Source"),
            words("Analysis"),
            words("Suggestion"),
        ],
    )
    kpis = {o.objective_id: o for o in data.kpis.objectives}
    for objective, line in zip(data.kpis.objectives, objective_lines(data, words), strict=True):
        actual = kpis[objective.objective_id].actual
        table.rows.append(
            [
                _text(line.dimension),
                _text(line.metric),
                Cell(line.target, kpis[objective.objective_id].target, "number"),
                Cell(
                    line.actual,
                    actual,
                    "number" if actual is not None else "text",
                    " ".join(line.marks),
                ),
                _percent(words, line.achievement_ratio),
                _text(line.period_before),
                _text(line.earlier_versions),
                _text(line.source),
                _text(line.analysis),
                _text(line.suggestion),
            ]
        )
    return table


def _name(words: Words, line: ChannelLine) -> str:
    return words(line.name) if line.name in _UNNAMED and not line.in_current_plan else line.name


def _membership(words: Words, line: ChannelLine) -> str:
    if line.in_current_plan:
        return words("yes")
    if line.channel_id is None:
        return words("no: facts for the whole plan, of no channel")
    if line.name in _UNNAMED:
        return words("no: a channel no version of the plan names")
    return words("moved out of the plan")


def channels(data: ReportData, words: Words) -> Table:
    """Every channel the plan has had, its spend in the plan currency and its ratios."""
    table = Table(
        "channels",
        words("Channels"),
        [
            words("Channel"),
            words("In the plan"),
            words("Spend ({currency})", currency=words.currency),
            words("CTR"),
            words("CVR"),
            words("CAC"),
            words("ROI"),
            words("CLTV/CAC"),
        ],
    )
    for line in data.channels:
        table.rows.append(
            [
                _text(_name(words, line)),
                _text(_membership(words, line)),
                _money(words, line.spend),
                _percent(words, line.ctr, 2),
                _percent(words, line.cvr, 2),
                _money(words, line.cac),
                Cell(
                    figure(data, words, "roi", line.roi),
                    line.roi,
                    "number" if line.roi is not None else "text",
                ),
                _text(words("no data (no customer lifetime value is reported)")),
            ]
        )
    return table


def budget(data: ReportData, words: Words) -> Table:
    """Planned, committed, actual and remaining per channel, and the reserve."""
    kept_elsewhere = words("kept by planning, not reported to metrics")
    table = Table(
        "budget",
        words("Budget"),
        [
            words("Budget line"),
            words("Planned"),
            words("Committed"),
            words("Actual"),
            words("Remaining"),
        ],
    )
    planned_total, spent_total = Decimal(0), Decimal(0)
    for line in data.channels:
        if line.planned is None and line.spend is None:
            continue
        planned_total += line.planned or 0
        spent_total += line.spend or 0
        table.rows.append(
            [
                _text(_name(words, line)),
                _money(words, line.planned),
                _text(kept_elsewhere),
                _money(words, line.spend or Decimal(0)),
                _money(words, line.remaining),
            ]
        )
    table.rows.append(
        [
            _text(words("Contingency reserve")),
            _text(kept_elsewhere),
            _text(kept_elsewhere),
            _text(kept_elsewhere),
            _text(kept_elsewhere),
        ]
    )
    table.rows.append(
        [
            _text(words("Total of the channels")),
            _money(words, planned_total),
            _text(kept_elsewhere),
            _money(words, spent_total),
            _money(words, planned_total - spent_total),
        ]
    )
    return table


def trend(data: ReportData, words: Words, series: Trend) -> Table:
    """The daily figures behind one trend chart."""
    name = words.metric(data.dictionary.name(series.metric))
    table = Table(
        f"trend-{series.metric}",
        words("Daily trend: {metric}", metric=name),
        [words("Day"), words("Actual to date"), words("Target pace")],
    )
    for point in series.points:
        table.rows.append(
            [
                Cell(words.day(point.day), point.day, "date"),
                Cell(
                    figure(data, words, series.metric, point.value),
                    point.value,
                    "number" if point.value is not None else "text",
                ),
                Cell(
                    figure(data, words, series.metric, point.pace),
                    point.pace,
                    "number" if point.pace is not None else "text",
                ),
            ]
        )
    return table


def funnel(data: ReportData, words: Words) -> Table:
    """Impressions down to first orders, each step's share of the step before."""
    table = Table(
        "funnel",
        words("Funnel"),
        [words("Step"), words("Count"), words("Share of the step before")],
    )
    before: Decimal | None = None
    for metric, value in data.funnel:
        table.rows.append(
            [
                _text(words.metric(data.dictionary.name(metric))),
                _number(words, value),
                _percent(words, ratio(value, before), 2)
                if before is not None
                else _text(words("first step")),
            ]
        )
        before = value
    return table


def decomposition(data: ReportData, words: Words) -> Table:
    """Region → city → school achievement and the payout rate under the cap."""
    table = Table(
        "decomposition",
        words("Target decomposition"),
        [
            words("Objective"),
            words("Level"),
            words("Name"),
            words("Target"),
            words("Actual"),
            words("Achievement"),
            words("Payout rate (capped)"),
        ],
    )
    for _objective_id, tree in data.trees:
        metric = words.metric(data.dictionary.name(tree.metric))

        def walk(node: DecompositionNodeRead, depth: int, metric: str = metric) -> None:
            table.rows.append(
                [
                    _text(metric),
                    _text(words(node.level)),
                    _text("\u2003" * depth + node.name),
                    _number(words, node.target),
                    _number(words, node.actual),
                    _percent(words, node.achievement),
                    _percent(words, node.payout_rate),
                ]
            )
            for child in node.children:
                walk(child, depth + 1)

        walk(tree.root, 0)
    return table


def sections(data: ReportData, words: Words) -> list[Table]:
    """Every table of the report, in reading order."""
    return [
        objectives(data, words),
        channels(data, words),
        budget(data, words),
        *(trend(data, words, series) for series in data.trends),
        funnel(data, words),
        decomposition(data, words),
    ]
