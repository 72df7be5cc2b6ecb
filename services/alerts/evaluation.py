"""Rule evaluation as plain functions: a condition per observation, a state machine per alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, Protocol

Condition = Literal["breach", "clear", "hold", "no_data"]
State = Literal["ok", "pending", "firing", "acknowledged", "resolved"]
Action = Literal["fire", "resolve"] | None


class RuleLike(Protocol):
    kind: str
    direction: str
    target: Decimal | None
    threshold: Decimal
    recovery: Decimal
    min_sample: int
    ignore_provisional: bool


@dataclass(frozen=True)
class Observation:
    """A value to judge, what it should be, and how much it rests on."""

    value: Decimal | None
    target: Decimal | None = None
    sample: Decimal | None = None
    provisional: bool = False


TARGET_KINDS = ("relative_to_target", "projected_miss")
# Their observed value is already a signed percentage: the change, or the pacing deviation.
DEVIATION_KINDS = ("change_over_period", "budget_pacing")


def condition(rule: RuleLike, seen: Observation) -> Condition:
    """Breach, clear, or the band between them (hysteresis), or no usable data."""
    if rule.kind == "event":
        return "breach"  # the event is the condition; a person resolves it
    if seen.value is None or (rule.min_sample and (seen.sample or 0) < rule.min_sample):
        return "no_data"
    if rule.ignore_provisional and seen.provisional:
        return "hold"
    sign = -1 if rule.direction == "below" else 1
    if rule.kind in TARGET_KINDS:
        target = seen.target if seen.target is not None else rule.target
        if target is None:
            return "no_data"
        fire_at = target * (1 + sign * rule.threshold / 100)
        clear_at = target * (1 + sign * rule.recovery / 100)
    elif rule.kind in DEVIATION_KINDS:
        fire_at, clear_at = sign * rule.threshold, sign * rule.recovery
    else:
        fire_at, clear_at = rule.threshold, rule.recovery
    if rule.direction == "below":
        return "breach" if seen.value <= fire_at else "clear" if seen.value >= clear_at else "hold"
    return "breach" if seen.value >= fire_at else "clear" if seen.value <= clear_at else "hold"


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


def repeat_due(notified_count: int, hours_since_last: float, first_repeat_hours: float = 4) -> bool:
    """Re-notify an unacknowledged alert after 4 h, then 8 h, 16 h … (backing off)."""
    return notified_count > 0 and hours_since_last >= first_repeat_hours * 2 ** (notified_count - 1)
