"""Alerts' rules and their thresholds, pinned without HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

import pytest

from services.alerts import rules
from services.alerts.schemas import RuleCreate
from shared.kit.settings import Settings

D = Decimal


def test_a_percentage_rule_resolves_only_within_half_its_threshold() -> None:
    assert rules.DEFAULT_THRESHOLD == 20
    assert rules.default_recovery("relative_to_target", D(20)) == 10
    assert rules.default_recovery("projected_miss", D(30)) == 15
    assert rules.default_recovery("threshold", D(5)) == 5
    assert rules.default_recovery("event", D(0)) == 0
    # The schema's default is the rule's.
    made = RuleCreate(name="r", kind="relative_to_target", metric="clicks", target=D(100))
    assert (made.threshold, made.recovery) == (D(20), D(10))


@dataclass
class _Rule:
    """A rule 20 % below a target of 100, as evaluation sees one."""

    threshold: Decimal
    recovery: Decimal
    kind: str = "relative_to_target"
    direction: str = "below"
    target: Decimal | None = Decimal(100)
    min_sample: int = 0
    ignore_provisional: bool = False


@pytest.mark.parametrize(
    ("value", "verdict"), [(79, "breach"), (80, "breach"), (85, "hold"), (90, "clear")]
)
def test_hysteresis_fires_at_the_threshold_and_clears_at_the_recovery(
    value: int, verdict: str
) -> None:
    rule = _Rule(threshold=D(20), recovery=rules.default_recovery("relative_to_target", D(20)))
    assert rules.condition(rule, rules.Observation(D(value))) == verdict


def test_a_critical_alert_escalates_a_level_each_setting_period() -> None:
    after = timedelta(minutes=Settings().alert_escalate_after_minutes)
    assert after == timedelta(minutes=30)
    assert not rules.escalation_due(0, timedelta(minutes=29), after)
    assert rules.escalation_due(0, timedelta(minutes=30), after)
    assert not rules.escalation_due(1, timedelta(minutes=59), after)
    assert rules.escalation_due(1, timedelta(minutes=60), after)


def test_the_data_cut_off_is_a_setting() -> None:
    assert Settings().data_cutoff == time(17, 0)
    assert Settings(data_cutoff=time(18, 30)).data_cutoff == time(18, 30)
