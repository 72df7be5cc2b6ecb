"""Funnel maths: each step's conversion, its comparisons and the bottleneck (pure, no I/O).

A step's conversion is its count over the step before it, both summed over the period first
(a ratio of sums, never an average of daily ratios). The bottleneck is the step whose
conversion falls furthest below what it is compared with, *relatively*: a click-through rate
of 1 % against 2 % is as bad as a sign-up rate of 20 % against 40 %, and the absolute gap
would always blame the step with the larger rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

# impressions → clicks → registrations → first orders → next-day retained, each step with the
# step its conversion counts from. First orders and next-day retention both count from the
# registrations, as the dictionary defines them ("first orders placed by new registrations",
# retention "share of a day's registrations active the next day"): a retained user need not
# have ordered, so retained ÷ first orders would be no rate at all.
FUNNEL: tuple[tuple[str, str | None], ...] = (
    ("impressions", None),
    ("clicks", "impressions"),
    ("registrations", "clicks"),
    ("first_orders", "registrations"),
    ("retained_next_day", "registrations"),
)
STEPS: tuple[str, ...] = tuple(metric for metric, _ in FUNNEL)
SIX_PLACES = Decimal("0.000001")

Counts = Mapping[str, Decimal]


class Comparison(StrEnum):
    """What a step's conversion is held against."""

    PEERS = "peers"  # the plan's other channels together, over the same period
    PREVIOUS_PERIOD = "previous_period"  # the same channel, the equally long period before


@dataclass(frozen=True)
class Step:
    """One funnel step: its count and, from clicks on, its conversion from ``base`` and how
    that compares (``shortfall`` > 0 means below the comparison, as a share of it)."""

    metric: str
    count: Decimal | None
    base: str | None = None
    conversion: Decimal | None = None
    peers: Decimal | None = None
    previous: Decimal | None = None
    shortfall_vs_peers: Decimal | None = None
    shortfall_vs_previous: Decimal | None = None


@dataclass(frozen=True)
class Bottleneck:
    """The step converting furthest below its comparison."""

    from_metric: str
    metric: str
    conversion: Decimal
    comparison: Comparison
    compared_with: Decimal
    shortfall: Decimal


def conversion(counts: Counts | None, metric: str, before: str) -> Decimal | None:
    """``metric`` over ``before`` (None without counts or with nothing in the step before)."""
    if counts is None:
        return None
    denominator = counts.get(before)
    if not denominator or metric not in counts:
        return None
    return (counts[metric] / denominator).quantize(SIX_PLACES)


def shortfall(rate: Decimal | None, compared_with: Decimal | None) -> Decimal | None:
    """How far ``rate`` lies below ``compared_with``, as a share of it (negative: above)."""
    if rate is None or not compared_with:
        return None
    return ((compared_with - rate) / compared_with).quantize(SIX_PLACES)


def others(total: Counts, channel: Counts) -> dict[str, Decimal]:
    """The plan's counts without one channel's: what its peers did together."""
    return {m: total[m] - channel.get(m, Decimal(0)) for m in total}


def steps(
    counts: Counts, peers: Counts | None = None, previous: Counts | None = None
) -> list[Step]:
    """The funnel of ``counts``, each step compared with ``peers`` and with ``previous``."""
    funnel = []
    for metric, base in FUNNEL:
        if base is None:
            funnel.append(Step(metric, counts.get(metric)))
            continue
        rate = conversion(counts, metric, base)
        peer_rate = conversion(peers, metric, base)
        previous_rate = conversion(previous, metric, base)
        funnel.append(
            Step(
                metric,
                counts.get(metric),
                base,
                rate,
                peer_rate,
                previous_rate,
                shortfall(rate, peer_rate),
                shortfall(rate, previous_rate),
            )
        )
    return funnel


def bottleneck(funnel: list[Step]) -> Bottleneck | None:
    """The step with the largest positive shortfall against either comparison (the peers win
    a tie, then the earlier step); None when no step converts below its comparison."""
    worst: Bottleneck | None = None
    for step in funnel:
        candidates = (
            (Comparison.PEERS, step.peers, step.shortfall_vs_peers),
            (Comparison.PREVIOUS_PERIOD, step.previous, step.shortfall_vs_previous),
        )
        for comparison, compared_with, gap in candidates:
            if (
                step.base is None
                or step.conversion is None
                or compared_with is None
                or gap is None
                or gap <= 0
            ):
                continue
            if worst is None or gap > worst.shortfall:
                worst = Bottleneck(
                    step.base, step.metric, step.conversion, comparison, compared_with, gap
                )
    return worst
