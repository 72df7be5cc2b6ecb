"""The 200 % KPI payout cap is one rule in the contract, applied alike by planning and metrics."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from services.metrics.kpis import decomposition
from services.planning import rules as planning_rules
from shared.contract.events.planning import DecomposedNode
from shared.contract.payouts import KPI_PAYOUT_CAP, payout_rate

D = Decimal


def test_payout_follows_achievement_up_to_twice_the_target() -> None:
    assert KPI_PAYOUT_CAP == 2
    assert payout_rate(D("0.8")) == D("0.8")
    assert payout_rate(D("2")) == 2
    assert payout_rate(D("3.5")) == 2
    assert payout_rate(None) is None


def test_planning_and_metrics_cap_a_tree_node_alike() -> None:
    # 300 against a target of 100: an achievement of 3, paid at 2 in both services.
    planned = planning_rules.roll_up(
        planning_rules.Node(id="n", name="school", level="school", target=D(100), actual=D(300))
    )
    assert (planned.achievement, planned.payout_rate) == (D(3), D(2))
    source = uuid.uuid4()
    node = DecomposedNode(
        node_id=uuid.uuid4(), name="school", level="school", target=D(100), entities=["e"]
    )
    measured = decomposition.measure(
        [node],
        "conversions",
        {(source, "e"): {"conversions": D(300)}},
        starts_on=date(2024, 6, 1),
        due_on=date(2024, 6, 30),
        as_of=date(2024, 6, 30),
    )
    assert (measured.achievement, measured.payout_rate) == (D(3), D(2))
