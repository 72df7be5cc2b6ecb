"""The objective table's columns: values in the reader's language and the generated sentences.

A person's typed source, analysis or suggestion wins; otherwise the sentences say what the
figures show (pace, the period before, the channel that carried or missed the objective).
Where there is honestly nothing to say, the cell says so in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.metrics.reporting.data import ChannelLine, ReportData, ratio
from services.metrics.reporting.i18n import Words
from services.metrics.schemas import EvaluationRow, ObjectiveKpi, PeriodComparison
from shared.contract.metric_dictionary import MetricKind


@dataclass(frozen=True)
class ObjectiveLine:
    """One row of the §6 table, every column as the reader sees it."""

    dimension: str
    metric: str
    target: str
    actual: str
    achievement: str
    achievement_ratio: Decimal | None
    period_before: str
    earlier_versions: str
    source: str
    analysis: str
    suggestion: str
    marks: list[str]


def shown(data: ReportData, words: Words, row: ObjectiveKpi, value: Decimal | None) -> str:
    """A metric's value as its kind reads: ``1:5.2``, ``+45%``, ``¥1,000.00``, ``180,000``."""
    if value is None:
        return words("no data")
    if row.target_kind == "relative":
        return ("+" if value >= 0 else "") + words.number(value, 1) + "%"
    return figure(data, words, row.metric, value)


def figure(data: ReportData, words: Words, metric: str, value: Decimal | None) -> str:
    """An absolute figure of a metric."""
    if value is None:
        return words("no data")
    definition = data.dictionary.get(metric)
    if metric == "roi":
        return "1:" + words.number(value, 2)
    if definition is not None and definition.kind is MetricKind.MONEY:
        return words.money(value)
    if definition is not None and definition.kind is MetricKind.RATIO:
        return words.percent(value, 2)
    return words.number(value, 2)


def _change(period: PeriodComparison | None) -> Decimal | None:
    if period is None or period.change is None:
        return None
    return Decimal(period.change.rstrip("%")) / 100


def _contributions(data: ReportData, metric: str) -> list[tuple[ChannelLine, Decimal]]:
    """Each channel's figure of the metric (a ratio of its own sums), largest first."""
    definition = data.dictionary.get(metric)
    out = []
    # Facts of no channel (a back end's plan-wide totals) say nothing about which channel did it.
    for line in (line for line in data.channels if line.channel_id is not None):
        if data.dictionary.additive(metric):
            value = line.sums.get(metric)
        elif definition is not None and definition.numerator and definition.denominator:
            value = ratio(
                line.sums.get(definition.numerator), line.sums.get(definition.denominator)
            )
        else:
            value = None
        if value is not None:
            out.append((line, value))
    return sorted(out, key=lambda pair: pair[1], reverse=True)


def _analysis(data: ReportData, words: Words, row: ObjectiveKpi, evaluated: EvaluationRow) -> str:
    if row.actual is None:
        return words("No figures for this metric yet, so there is nothing to analyse.")
    said = [words("Achieved {share} of the target.", share=words.percent(row.achievement))]
    if row.expected_to_date is not None and row.target_kind != "relative":
        expected = shown(data, words, row, row.expected_to_date)
        said.append(
            words("Ahead of the pace to date ({expected} expected by now).", expected=expected)
            if row.actual >= row.expected_to_date
            else words("Behind the pace to date ({expected} expected by now).", expected=expected)
        )
    period = evaluated.previous_period
    change = _change(period)
    if period is not None:
        span = words(
            "{first} to {last}", first=words.day(period.first_day), last=words.day(period.last_day)
        )
        if change is None:
            said.append(
                words("The period before ({span}) has no figures to compare with.", span=span)
            )
        else:
            moved = words.percent(abs(change))
            said.append(
                words("Up {change} on the period before ({span}).", change=moved, span=span)
                if change >= 0
                else words("Down {change} on the period before ({span}).", change=moved, span=span)
            )
    carried = _contributions(data, row.metric)
    if not carried:
        said.append(words("No channel breakdown: the sources report it for the whole plan."))
    elif data.dictionary.additive(row.metric):
        total = sum((value for _line, value in carried), Decimal(0))
        best, value = carried[0]
        share = value / total if total else None
        said.append(
            words("{channel} carried {share} of it.", channel=best.name, share=words.percent(share))
        )
    elif len(carried) == 1:
        said.append(words("Only {channel} reported it.", channel=carried[0][0].name))
    else:
        (best, high), (worst, low) = carried[0], carried[-1]
        said.append(
            words(
                "{best} did best ({high}); {worst} missed ({low}).",
                best=best.name,
                high=figure(data, words, row.metric, high),
                worst=worst.name,
                low=figure(data, words, row.metric, low),
            )
        )
    return " ".join(said)


def _suggestion(data: ReportData, words: Words, row: ObjectiveKpi) -> str:
    name = words.metric(data.dictionary.name(row.metric))
    if row.achievement is None:
        return words(
            "Connect a source that reports {metric} to measure this objective.", metric=name
        )
    ranked = [line for line, _v in _contributions(data, "roi")] or [
        line for line, _v in _contributions(data, row.metric)
    ]
    if row.achievement >= 1:
        if ranked:
            return words(
                "On track: keep the mix and give any reserve to {channel}.", channel=ranked[0].name
            )
        return words("On track: keep the current plan.")
    if len(ranked) >= 2:
        return words(
            "Behind target: move budget from {worst} to {best}.",
            worst=ranked[-1].name,
            best=ranked[0].name,
        )
    if ranked:
        return words(
            "Behind target: review the targeting and creative of {channel}.", channel=ranked[0].name
        )
    return words("Behind target: review the plan's targeting and creative.")


def _source(data: ReportData, words: Words, metric: str) -> str:
    definition = data.dictionary.get(metric)
    parts = [metric]
    if definition is not None and definition.numerator and definition.denominator:
        parts = [definition.numerator, definition.denominator]
    names = sorted({name for part in parts for name in data.sources.get(part, [])})
    return ", ".join(names) if names else words("No source has reported this metric.")


def objective_lines(data: ReportData, words: Words) -> list[ObjectiveLine]:
    """Every objective's row, in plan order."""
    evaluated = {row.objective_id: row for row in data.evaluation.rows}
    lines = []
    for row in data.kpis.objectives:
        shown_row = evaluated[row.objective_id]
        marks = []
        if row.actual_gross is not None and row.actual_gross != row.actual_net:
            marks.append(
                words(
                    "Net of entity-days excluded as fraud (gross {gross}).",
                    gross=shown(data, words, row, row.actual_gross),
                )
            )
        parts = {row.metric, *data.dictionary.base_metrics([row.metric])}
        if data.kpis.final_through is not None and parts & data.unsettled:
            marks.append(
                words(
                    "Provisional: figures after {day} may still be restated.",
                    day=words.day(data.kpis.final_through),
                )
            )
        period = shown_row.previous_period
        if period is None or period.actual is None:
            before = words("No figures in the period before.")
        else:
            before = words(
                "{value} ({first} to {last})",
                value=shown(data, words, row, Decimal(period.actual)),
                first=words.day(period.first_day),
                last=words.day(period.last_day),
            )
        earlier = "; ".join(
            words(
                "v{version}: {target} (achievement {achievement})",
                version=e.version,
                target=e.target,
                achievement=e.achievement or words("no data"),
            )
            for e in shown_row.earlier_targets
        ) or words("The target has not changed since the first version.")
        lines.append(
            ObjectiveLine(
                dimension=words(row.type.replace("_", " ")),
                metric=words.metric(data.dictionary.name(row.metric)),
                target=shown(data, words, row, row.target),
                actual=shown(data, words, row, row.actual),
                achievement=words.percent(row.achievement),
                achievement_ratio=row.achievement,
                period_before=before,
                earlier_versions=earlier,
                source=shown_row.data_source or _source(data, words, row.metric),
                analysis=shown_row.analysis or _analysis(data, words, row, shown_row),
                suggestion=shown_row.suggestion or _suggestion(data, words, row),
                marks=marks,
            )
        )
    return lines
