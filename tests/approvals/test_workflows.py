"""Routing, stage outcomes and creation policies without a database, on a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.approvals.settings import ApprovalSettings
from services.approvals.workflows import (
    DEFAULT_WORKFLOWS,
    policies,
    route,
    stage_outcome,
    workflow_key,
)
from shared.contract.events.approvals import RequestKind
from shared.contract.types import CostType

# 2024-06-10 10:30 in Shanghai.
NOW = datetime(2024, 6, 10, 2, 30, tzinfo=UTC)


def _check(
    cost_type: CostType, event_on: date | None, now: datetime = NOW, **extra: object
) -> dict[str, bool]:
    results = policies(
        kind=RequestKind.EXPENSE,
        cost_type=cost_type,
        event_on=event_on,
        attachments=extra.get("attachments", []),  # type: ignore[arg-type]
        now=now,
        timezone="Asia/Shanghai",
        settings=ApprovalSettings(),
    )
    return {r.rule: r.passed for r in results}


@pytest.mark.parametrize(
    ("cost_type", "event_on", "rule", "passed"),
    [
        (CostType.VENUE, date(2024, 6, 12), "venue-lead-time", False),
        (CostType.VENUE, date(2024, 6, 13), "venue-lead-time", True),
        (CostType.MATERIALS, date(2024, 6, 16), "materials-lead-time", False),
        (CostType.MATERIALS, date(2024, 6, 17), "materials-lead-time", True),
        (CostType.SPONSORSHIP, date(2024, 6, 14), "sponsorship-lead-time", False),
        (CostType.SPONSORSHIP, date(2024, 6, 15), "sponsorship-lead-time", True),
        (CostType.PERSONNEL, date(2024, 6, 9), "personnel-pay-sheet-deadline", True),
        (CostType.PERSONNEL, date(2024, 6, 8), "personnel-pay-sheet-deadline", False),
    ],
)
def test_lead_times_count_in_company_days(
    cost_type: CostType, event_on: date, rule: str, passed: bool
) -> None:
    assert _check(cost_type, event_on)[rule] is passed


def test_the_pay_sheet_is_due_at_eleven_the_day_after() -> None:
    just_late = datetime(2024, 6, 10, 3, 1, tzinfo=UTC)  # 11:01 in Shanghai
    assert (
        _check(CostType.PERSONNEL, date(2024, 6, 9), just_late)["personnel-pay-sheet-deadline"]
        is False
    )


def test_a_sponsorship_without_an_agreement_fails_that_rule_only() -> None:
    results = _check(CostType.SPONSORSHIP, date(2024, 6, 30))
    assert results == {"sponsorship-lead-time": True, "sponsorship-agreement": False}
    signed = _check(CostType.SPONSORSHIP, date(2024, 6, 30), attachments=[{"type": "agreement"}])
    assert signed["sponsorship-agreement"] is True


def test_routing_skips_a_stage_below_its_amount_and_says_why() -> None:
    other = DEFAULT_WORKFLOWS[workflow_key(RequestKind.EXPENSE, CostType.OTHER)]
    small = route(other, Decimal(1000), 48)
    assert [s.applies for s in small] == [True, False]
    assert "below 50000" in small[1].why
    assert [s.applies for s in route(other, Decimal(60000), 48)] == [True, True]


@pytest.mark.parametrize(
    ("mode", "decisions", "outcome"),
    [
        ("one", [("supervisor", "approve")], "approved"),
        ("all", [("manager", "approve"), ("sales", "approve")], "open"),
        ("all", [("manager", "approve"), ("sales", "approve"), ("finance", "approve")], "approved"),
        ("all", [("manager", "approve"), ("sales", "reject")], "rejected"),
        ("quorum", [("legal", "approve")], "open"),
        ("quorum", [("legal", "approve"), ("finance", "approve")], "approved"),
        ("quorum", [("legal", "reject")], "rejected"),
    ],
)
def test_stage_outcomes(mode: str, decisions: list[tuple[str, str]], outcome: str) -> None:
    roles = ["manager", "sales", "finance"] if mode == "all" else ["legal", "manager", "finance"]
    assert stage_outcome(mode, roles, 2, decisions) == outcome  # type: ignore[arg-type]
