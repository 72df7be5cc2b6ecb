"""Conversion of money facts into a plan's currency: the rules, as plain functions.

Facts stay in their source's currency (they are the as-reported record); sums for a plan are
in the plan's currency. fx/sql.py applies the same rules in SQL (``CONVERTED``) when it
builds the daily rollups and reads days not rolled up yet; the tests hold the two together.

- Only money (kind MONEY: cost, gmv, revenue) is converted; counters and indices never are.
- A stored rate says 1 ``base`` = ``rate`` ``quote`` and applies from ``valid_from`` until the
  next rate of the same pair, in either direction. Finance quotes a pair once ("USD/CNY 7.10"),
  not twice, so converting CNY into USD with only USD→CNY stored divides by that rate: the
  inverse is implied, and the two directions can never disagree. A pair takes one quote a day
  (setting CNY→USD on a day that has USD→CNY is refused), so the newest quote always wins.
- A converted amount is rounded to 6 decimal places (the facts' scale), half away from zero as
  PostgreSQL's ``round`` does, then summed; arithmetic is Decimal throughout, never float.
- A money fact without a rate for its day is neither summed as reported nor dropped: it is left
  out of the plan's sums and reported as a missing rate (pair and days), so that finance can
  enter the rate; entering it recomputes those days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from shared.contract.metric_dictionary import METRIC_DICTIONARY, MetricKind

# A plan whose targets have not arrived yet is taken to be in the company's default currency
# (as shared.contract.types.Money is); its days are recomputed when targets say otherwise.
DEFAULT_PLAN_CURRENCY = "CNY"
MONEY_METRICS = sorted(k for k, m in METRIC_DICTIONARY.items() if m.kind is MetricKind.MONEY)
PLACES = 6
_QUANTUM = Decimal(1).scaleb(-PLACES)


@dataclass(frozen=True)
class Rate:
    """1 ``base`` is worth ``rate`` ``quote`` from ``valid_from`` on."""

    base: str
    quote: str
    valid_from: date
    rate: Decimal


@dataclass(frozen=True)
class Applied:
    """The rate in force for a conversion, and whether it is used inverted."""

    rate: Rate
    inverted: bool


@dataclass(frozen=True)
class MissingRate:
    """Money reported in ``base`` on ``days`` days of a plan in ``quote``, with no rate."""

    base: str
    quote: str
    first_day: date
    last_day: date
    days: int


def is_money(metric: str) -> bool:
    """True for the metrics that carry an amount of money."""
    definition = METRIC_DICTIONARY.get(metric)
    return definition is not None and definition.kind is MetricKind.MONEY


def rate_on(rates: Iterable[Rate], source: str, plan: str, day: date) -> Applied | None:
    """The rate converting ``source`` into ``plan`` money on a day, or None when none applies.

    The latest ``valid_from`` on or before the day wins, whichever direction it was stored in
    (a rate stored in the asked direction first, should both exist for one day).
    """
    candidates = [
        Applied(r, inverted=r.base == plan)
        for r in rates
        if r.valid_from <= day and {r.base, r.quote} == {source, plan} and source != plan
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda a: (a.rate.valid_from, not a.inverted))


def convert(
    metric: str, amount: Decimal, source: str, plan: str, day: date, rates: Iterable[Rate]
) -> Decimal | None:
    """A fact's value in the plan's currency; None when it is money and no rate applies."""
    if not is_money(metric) or source == plan:
        return amount
    applied = rate_on(rates, source, plan, day)
    if applied is None:
        return None
    # Enough digits that the quotient is rounded once, at the facts' scale.
    with localcontext(prec=50) as context:
        context.rounding = ROUND_HALF_UP
        exact = amount / applied.rate.rate if applied.inverted else amount * applied.rate.rate
        return exact.quantize(_QUANTUM)


def missing_rates(gaps: Iterable[tuple[str, date]], plan: str) -> list[MissingRate]:
    """(source currency, day) pairs without a rate, summarised per currency, oldest first.

    The first day is what matters to the user: a rate valid from it covers every later day.
    """
    days: dict[str, set[date]] = {}
    for currency, day in gaps:
        days.setdefault(currency, set()).add(day)
    return sorted(
        (
            MissingRate(
                base=currency, quote=plan, first_day=min(seen), last_day=max(seen), days=len(seen)
            )
            for currency, seen in days.items()
        ),
        key=lambda m: (m.first_day, m.base),
    )
