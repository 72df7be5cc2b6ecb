"""Alerts' business rules as plain functions: no database, no HTTP.

Hysteresis: a rule fires at its threshold and resolves only at its recovery level, so a value
hovering at the threshold does not fire and resolve on every evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Literal, Protocol

Condition = Literal["breach", "clear", "hold", "no_data"]
# A default rule (and a rule created without a threshold) fires 20 % off target.
DEFAULT_THRESHOLD = Decimal(20)


def default_recovery(kind: str, threshold: Decimal) -> Decimal:
    """Where a rule created without a recovery level resolves: a plain threshold (and an event)
    where it fires; a percentage rule only within half its threshold (fire at 20 % below
    target, resolve within 10 %)."""
    return threshold if kind in ("threshold", "event") else threshold / 2


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


def repeat_due(notified_count: int, hours_since_last: float, first_repeat_hours: float) -> bool:
    """Re-notify an unacknowledged alert after ``first_repeat_hours`` (a setting: 4 h), then twice
    as long each time (8 h, 16 h …)."""
    return notified_count > 0 and hours_since_last >= first_repeat_hours * 2 ** (notified_count - 1)


def escalation_due(level: int, since_fired: timedelta, escalate_after: timedelta) -> bool:
    """Escalate a critical alert nobody acknowledged one level each ``escalate_after`` (a
    setting: 30 min) since it fired."""
    return since_fired >= escalate_after * (level + 1)
