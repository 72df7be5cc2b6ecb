"""The diagnosis as the report shows it: each channel's new customers, CAC, CLTV, CLTV/CAC and
ineffective mark; each funnel's bottleneck in words; each A/B experiment's arms and verdict.
Where a figure cannot be had, its cell says why."""

from __future__ import annotations

from decimal import Decimal

from services.metrics.diagnosis import channels as rules
from services.metrics.diagnosis.channels_schemas import ChannelEfficiency
from services.metrics.diagnosis.funnels import Comparison
from services.metrics.reporting.cells import Cell, Table, money, number, percent, text
from services.metrics.reporting.data import ChannelLine, ReportData
from services.metrics.reporting.i18n import Words
from shared.contract.metric_dictionary import METRIC_DICTIONARY


def efficiency_columns(words: Words) -> list[str]:
    """The headers of the channel columns the diagnosis fills."""
    return [
        words("New customers"),
        words("CAC"),
        words("CLTV"),
        words("CLTV/CAC"),
        words("Ineffective"),
    ]


def _cltv(words: Words, found: ChannelEfficiency, params: rules.Parameters) -> Cell:
    value = found.cltv.value
    if value is None:
        formula = (params.gross_margin, params.purchase_frequency, params.lifespan_years)
        if None not in formula and found.aov is None:
            return text(words("no data (no orders, so no average order value)"))
        return text(words("no data ({reason})", reason=words(rules.CLTV_UNKNOWN)))
    basis = (
        words("{value} (by cohorts)", value=words.money(value))
        if found.cltv.basis == "cohort"
        else words("{value} (by formula)", value=words.money(value))
    )
    return Cell(basis, value, "money")


def _cltv_cac(words: Words, found: ChannelEfficiency) -> Cell:
    if found.cltv_cac is not None:
        return Cell(words.number(found.cltv_cac, 2), found.cltv_cac, "number")
    if found.cac is None:
        return text(words("no data (no new customers, so no CAC)"))
    return text(words("no data (no CLTV)"))


def _mark(words: Words, found: ChannelEfficiency, floor: Decimal) -> Cell:
    if found.ineffective:
        return text(words("yes: {reason}", reason=found.reason))
    if found.code is None:
        return text(
            words("no (CLTV/CAC at or above the floor {floor})", floor=words.number(floor, 2))
        )
    return text(words("not judged: {reason}", reason=found.reason))


def efficiency_cells(data: ReportData, words: Words, line: ChannelLine) -> list[Cell]:
    """A channel's diagnosis cells; facts of no channel are not judged."""
    found = data.diagnosis.efficiency.get(line.channel_id) if line.channel_id else None
    if found is None:
        blank = text(words("no data"))
        return [blank, blank, blank, blank, text(words("not judged: facts of no channel"))]
    params = data.diagnosis.parameters
    return [
        number(words, found.new_customers),
        money(words, found.cac),
        _cltv(words, found, params),
        _cltv_cac(words, found),
        _mark(words, found, params.cltv_cac_floor),
    ]


def bottlenecks(data: ReportData, words: Words) -> Table:
    """Each funnel's bottleneck sentence, and the conversion it names against its comparison."""
    table = Table(
        "bottlenecks",
        words("Funnel bottlenecks"),
        [
            words("Funnel"),
            words("Finding"),
            words("Conversion"),
            words("Compared with"),
            words("Shortfall"),
        ],
    )
    for funnel in data.diagnosis.bottlenecks():
        worst = funnel.bottleneck
        if worst is None:
            table.rows.append([text(funnel.name), text(funnel.summary), *[text("")] * 3])
            continue
        against = (
            words("the plan's other channels")
            if worst.comparison is Comparison.PEERS
            else words("the period before")
        )
        table.rows.append(
            [
                text(funnel.name),
                text(funnel.summary),
                percent(words, worst.conversion, 2),
                Cell(
                    f"{words.percent(worst.compared_with, 2)} ({against})",
                    worst.compared_with,
                    "percent",
                ),
                percent(words, worst.shortfall),
            ]
        )
    return table


def _verdict(words: Words, verdict: str, winner: str | None, sample: int, trials: str) -> str:
    if verdict == "winner":
        return words("winner: {arm}", arm=winner)
    if verdict == "no_difference":
        return words("no difference")
    return words(
        "not enough data: each arm needs {sample} {trials}",
        sample=words.number(Decimal(sample), 0),
        trials=trials,
    )


def experiments(data: ReportData, words: Words) -> Table:
    """Each A/B experiment's arms (the control first), their rates and the verdict."""
    table = Table(
        "experiments",
        words("A/B experiments"),
        [
            words("Experiment"),
            words("Primary metric"),
            words("Arm"),
            words("Rate"),
            words("Sample"),
            words("Verdict"),
        ],
    )
    for review in data.diagnosis.experiments:
        metric = words.metric(data.dictionary.name(review.experiment.metric))
        trials = words.metric(METRIC_DICTIONARY[review.denominator].name)
        verdict = _verdict(
            words, review.verdict, review.winner, review.experiment.minimum_sample, trials
        )
        for arm in review.arms:
            rate = None if arm.rate is None else Decimal(str(arm.rate))
            table.rows.append(
                [
                    text(review.experiment.name),
                    text(metric),
                    text(arm.name),
                    percent(words, rate, 2),
                    number(words, Decimal(arm.denominator)),
                    text(verdict),
                ]
            )
    return table
