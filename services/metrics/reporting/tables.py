"""The report's sections as tables of typed cells: the page shows each cell's text, the CSV
and XLSX exports its value (numbers as numbers, money with the plan currency's format)."""

from __future__ import annotations

from decimal import Decimal

from services.metrics.reporting import findings
from services.metrics.reporting.cells import Cell, Table, money, number, percent, text
from services.metrics.reporting.columns import figure, objective_lines
from services.metrics.reporting.data import ChannelLine, ReportData, Trend, ratio
from services.metrics.reporting.i18n import Words
from services.metrics.schemas import DecompositionNodeRead

_UNNAMED = ("plan level", "unmapped channel")  # facts of no channel of the plan


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
                text(line.dimension),
                text(line.metric),
                Cell(line.target, kpis[objective.objective_id].target, "number"),
                Cell(
                    line.actual,
                    actual,
                    "number" if actual is not None else "text",
                    " ".join(line.marks),
                ),
                percent(words, line.achievement_ratio),
                text(line.period_before),
                text(line.earlier_versions),
                text(line.source),
                text(line.analysis),
                text(line.suggestion),
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
    """Every channel the plan has had, its spend in the plan currency, its ratios, and the
    diagnosis's CAC (per new customer), CLTV, CLTV/CAC and ineffective mark."""
    table = Table(
        "channels",
        words("Channels"),
        [
            words("Channel"),
            words("In the plan"),
            words("Spend ({currency})", currency=words.currency),
            words("CTR"),
            words("CVR"),
            words("Cost per registration"),
            words("ROI"),
            *findings.efficiency_columns(words),
        ],
    )
    for line in data.channels:
        table.rows.append(
            [
                text(_name(words, line)),
                text(_membership(words, line)),
                money(words, line.spend),
                percent(words, line.ctr, 2),
                percent(words, line.cvr, 2),
                money(words, line.cac),
                Cell(
                    figure(data, words, "roi", line.roi),
                    line.roi,
                    "number" if line.roi is not None else "text",
                ),
                *findings.efficiency_cells(data, words, line),
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
    reserve = data.diagnosis.reserve
    planned_total, spent_total = Decimal(0), Decimal(0)
    for line in data.channels:
        if line.planned is None and line.spend is None:
            continue
        planned_total += line.planned or 0
        spent_total += line.spend or 0
        table.rows.append(
            [
                text(_name(words, line)),
                money(words, line.planned),
                text(kept_elsewhere),
                money(words, line.spend or Decimal(0)),
                money(words, line.remaining),
            ]
        )
    table.rows.append(
        [
            text(words("Contingency reserve")),
            # planning announces the reserve with each version; what is drawn from it it keeps
            money(words, reserve) if reserve is not None else text(kept_elsewhere),
            text(kept_elsewhere),
            text(kept_elsewhere),
            text(kept_elsewhere),
        ]
    )
    table.rows.append(
        [
            text(words("Total of the channels")),
            money(words, planned_total),
            text(kept_elsewhere),
            money(words, spent_total),
            money(words, planned_total - spent_total),
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
                text(words.metric(data.dictionary.name(metric))),
                number(words, value),
                percent(words, ratio(value, before), 2)
                if before is not None
                else text(words("first step")),
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
                    text(metric),
                    text(words(node.level)),
                    text("\u2003" * depth + node.name),
                    number(words, node.target),
                    number(words, node.actual),
                    percent(words, node.achievement),
                    percent(words, node.payout_rate),
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
        findings.bottlenecks(data, words),
        *([findings.experiments(data, words)] if data.diagnosis.experiments else []),
        decomposition(data, words),
    ]
