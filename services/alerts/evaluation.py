"""Rule evaluation as plain functions: a state machine per alert, and the figures rules watch
(rules.py judges each observation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from services.alerts.rules import Condition

State = Literal["ok", "pending", "firing", "acknowledged", "resolved"]
Action = Literal["fire", "resolve"] | None


def percent_change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    """Change against the previous period in percent; none when there is nothing to compare."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous * 100


def pacing_deviation(
    spend: Decimal, budget: Decimal, starts_on: date, ends_on: date, through: date
) -> Decimal | None:
    """How far spend runs ahead (+) or behind (-) the budget's linear share, in percent."""
    days = (ends_on - starts_on).days + 1
    elapsed = min(max((through - starts_on).days + 1, 0), days)
    if budget <= 0 or elapsed == 0:
        return None
    expected = budget * elapsed / days
    return (spend / expected - 1) * 100


def projected(
    actual: Decimal | None, target: Decimal, expected_to_date: Decimal | None, accumulates: bool
) -> Decimal | None:
    """Where the metric lands at the due date at the current pace (linear forecast).

    An accumulating metric scales by the share of time elapsed (expected-to-date over target);
    a ratio's current value is its forecast.
    """
    if actual is None:
        return None
    if not accumulates:
        return actual
    if not expected_to_date:
        return None
    return actual * target / expected_to_date


@dataclass(frozen=True)
class Step:
    """Where an alert goes after one observation."""

    state: State
    breaches: int
    action: Action


def step(state: State, breaches: int, seen: Condition, for_evaluations: int, no_data: str) -> Step:
    """Fire after ``for_evaluations`` breaches in a row; resolve only when clearly recovered."""
    if seen == "no_data":
        seen = "breach" if no_data == "fire" else "hold"
    if seen == "breach":
        if state in ("firing", "acknowledged"):
            return Step(state, breaches + 1, None)  # one alert per fingerprint, no repeat
        count = breaches + 1
        if count >= for_evaluations:
            return Step("firing", count, "fire")
        return Step("pending", count, None)
    if seen == "clear":
        if state in ("firing", "acknowledged"):
            return Step("resolved", 0, "resolve")
        return Step("ok", 0, None)
    return Step(state, breaches, None)


def matches(matchers: dict[str, str], labels: dict[str, str]) -> bool:
    """A silence applies when every matcher equals the alert's label."""
    return all(labels.get(name) == value for name, value in matchers.items())
