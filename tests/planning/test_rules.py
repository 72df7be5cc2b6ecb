"""Planning's rules without a database: lifecycle, risk levels, SMART findings, version diffs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from services.planning import rules
from services.planning.schemas import PlanStatus


@dataclass
class Goal:
    metric: str = "registrations"
    target_kind: str = "absolute"
    target_value: Decimal = Decimal(200000)
    baseline_value: Decimal | None = None
    owner_id: str = "manager"
    due_on: date = date(2024, 6, 30)


@dataclass
class Hazard:
    title: str = "quotes over budget"
    likelihood: int = 4
    impact: int = 5
    contingency_plan: str | None = None


def _findings(**overrides: object) -> list[rules.Finding]:
    arguments: dict[str, object] = {
        "starts_on": date(2024, 5, 1),
        "ends_on": date(2024, 7, 31),
        "objectives": [Goal()],
        "planned": [Decimal(880000)],
        "reserve": Decimal(120000),
        "risks": [],
        "reserve_min": Decimal("0.10"),
        "reserve_max": Decimal("0.15"),
        **overrides,
    }
    return rules.submission_findings(**arguments)  # type: ignore[arg-type]


def test_a_sound_plan_has_no_findings() -> None:
    assert _findings() == []


@pytest.mark.parametrize(
    ("reserve", "ok"),
    [
        (Decimal(97777), False),
        (Decimal(97778), True),
        (Decimal(155294), True),
        (Decimal(155295), False),
    ],
)
def test_the_reserve_must_be_ten_to_fifteen_percent_of_the_total(
    reserve: Decimal, ok: bool
) -> None:
    findings = _findings(reserve=reserve)
    assert (findings == []) is ok
    if not ok:
        assert findings[0].rule == "contingency-reserve"


def test_each_unsmart_objective_is_named_by_its_field() -> None:
    findings = _findings(
        objectives=[
            Goal(metric="vibes"),
            Goal(target_kind="relative", baseline_value=None),
            Goal(due_on=date(2024, 9, 1)),
        ]
    )
    assert [f.field for f in findings] == [
        "objectives.0.metric",
        "objectives.1.baseline_value",
        "objectives.2.due_on",
    ]


def test_a_high_likelihood_high_impact_risk_needs_a_contingency_plan() -> None:
    assert [f.rule for f in _findings(risks=[Hazard()])] == ["contingency-plan"]
    assert _findings(risks=[Hazard(contingency_plan="mid-tier KOCs")]) == []
    assert _findings(risks=[Hazard(likelihood=3)]) == []


@pytest.mark.parametrize(
    ("likelihood", "impact", "level"),
    [(5, 3, "high"), (2, 4, "medium"), (1, 5, "low"), (3, 3, "medium")],
)
def test_risk_level_is_likelihood_times_impact(likelihood: int, impact: int, level: str) -> None:
    assert rules.risk_level(likelihood, impact) == level


def test_the_lifecycle_allows_only_its_next_steps() -> None:
    assert rules.can_move(PlanStatus.DRAFT, PlanStatus.SUBMITTED)
    assert rules.can_move(PlanStatus.REJECTED, PlanStatus.SUBMITTED)
    assert not rules.can_move(PlanStatus.DRAFT, PlanStatus.ACTIVE)
    assert not rules.can_move(PlanStatus.ARCHIVED, PlanStatus.DRAFT)


def test_compare_matches_list_items_by_id() -> None:
    before = {"budget": [{"id": "a", "planned": "1"}, {"id": "b", "planned": "2"}], "name": "x"}
    after = {"budget": [{"id": "b", "planned": "3"}, {"id": "c", "planned": "4"}], "name": "x"}
    assert rules.compare(before, after) == [
        ("budget[a]", {"id": "a", "planned": "1"}, None),
        ("budget[b].planned", "2", "3"),
        ("budget[c]", None, {"id": "c", "planned": "4"}),
    ]


def test_decomposition_sums_children_shows_the_gap_and_caps_payout_at_200_percent() -> None:
    tree = rules.Node(
        id="company",
        name="company",
        level="company",
        target=Decimal(1000),
        children=[
            rules.Node(
                id="sh",
                name="Shanghai",
                level="city",
                target=Decimal(600),
                children=[
                    rules.Node(
                        id="fd",
                        name="Fudan",
                        level="school",
                        target=Decimal(400),
                        actual=Decimal(900),
                    ),
                    rules.Node(
                        id="tj",
                        name="Tongji",
                        level="school",
                        target=Decimal(200),
                        actual=Decimal(100),
                    ),
                ],
            ),
            rules.Node(
                id="hz", name="Hangzhou", level="city", target=Decimal(300), actual=Decimal(150)
            ),
        ],
    )
    company = rules.roll_up(tree)
    assert company.children_target == Decimal(900)
    assert company.difference == Decimal(100)  # 100 of the target is not assigned to a city
    assert company.actual == Decimal(1150)
    shanghai, hangzhou = company.children
    assert shanghai.actual == Decimal(1000)
    fudan, tongji = shanghai.children
    assert fudan.achievement == Decimal("2.25")
    assert fudan.payout_rate == Decimal(2)  # capped at 200 %
    assert tongji.payout_rate == Decimal("0.5")
    assert hangzhou.difference is None
