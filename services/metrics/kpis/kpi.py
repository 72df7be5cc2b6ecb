"""KPI arithmetic as plain functions: ratios of sums, relative targets, pace, projection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.contract.metric_dictionary import METRIC_DICTIONARY, Aggregation, MetricKind

FOUR = Decimal("0.0001")


def accumulates(metric: str) -> bool:
    """Counters and money add up over time; ratios and indices do not."""
    definition = METRIC_DICTIONARY.get(metric)
    return definition is not None and definition.kind in (MetricKind.COUNTER, MetricKind.MONEY)


def value_of(
    metric: str, sums: Mapping[str, Decimal], latest: Mapping[str, Decimal]
) -> Decimal | None:
    """A metric from base sums: a ratio is the ratio of sums, never an average of ratios."""
    definition = METRIC_DICTIONARY.get(metric)
    if definition is None:
        return None
    if definition.numerator and definition.denominator:
        denominator = sums.get(definition.denominator)
        if not denominator or definition.numerator not in sums:
            return None
        return (sums.get(definition.numerator, Decimal(0)) / denominator).quantize(
            Decimal("0.000001")
        )
    if accumulates(metric):
        return sums.get(metric)
    return latest.get(metric)


def summable(
    sums: Mapping[str, Decimal],
    latest: Mapping[str, Decimal],
    entity_days: Mapping[str, int],
    latest_entities: Mapping[str, int],
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The sums and latest-day totals without those the dictionary says are no total: a metric
    that does not add up (reach) over more than one entity-day, and a latest-day metric (an
    index, a reported rate) that several entities reported on its latest day. Left out, such a
    metric's value is None: never a wrong sum."""
    no_total = {
        m for m, n in entity_days.items() if n > 1 and _aggregation(m) is Aggregation.NOT_ADDITIVE
    }
    no_latest = no_total | {
        m for m, n in latest_entities.items() if n > 1 and _aggregation(m) is Aggregation.LATEST
    }
    return (
        {m: v for m, v in sums.items() if m not in no_total},
        {m: v for m, v in latest.items() if m not in no_latest},
    )


def _aggregation(metric: str) -> Aggregation | None:
    definition = METRIC_DICTIONARY.get(metric)
    return None if definition is None else definition.aggregates


@dataclass(frozen=True)
class Achievement:
    """One objective's standing."""

    actual: Decimal | None
    achievement: Decimal | None
    expected_to_date: Decimal | None
    projected: Decimal | None


def achievement(
    *,
    metric: str,
    target_kind: str,
    target: Decimal,
    baseline: Decimal | None,
    value: Decimal | None,
    starts_on: date,
    due_on: date,
    as_of: date,
    accumulating: bool | None = None,
) -> Achievement:
    """Actual against target (relative targets compare the change from the baseline).

    ``accumulating`` says how the metric aggregates when the built-in dictionary cannot
    (a derived metric); left out, the built-in dictionary decides."""
    if value is None:
        return Achievement(None, None, None, None)
    actual = value
    if target_kind == "relative":
        if not baseline:
            return Achievement(None, None, None, None)
        actual = ((value - baseline) / baseline * 100).quantize(FOUR)
    ratio = (actual / target).quantize(FOUR) if target else None
    total_days = max((due_on - starts_on).days + 1, 1)
    elapsed = min(max((as_of - starts_on).days + 1, 0), total_days)
    if accumulating is None:
        accumulating = accumulates(metric)
    if accumulating and target_kind == "absolute":
        expected = (target * elapsed / total_days).quantize(FOUR)
        projected = (actual * total_days / elapsed).quantize(FOUR) if elapsed else None
    else:
        expected, projected = target, actual
    return Achievement(actual, ratio, expected, projected)
