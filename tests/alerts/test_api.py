"""Alerts over the bus and REST: rules, an alert from a snapshot event, acknowledgement.

The alerts service runs alone; other services' events reach it through its inbox (twice, as a
redelivery would), not over a running bus.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from services.alerts.evaluation import step
from services.alerts.rules import Observation, condition, repeat_due
from shared.contract.types import Role
from shared.kit.settings import Settings
from tests.alerts.scenario import PLAN, ctr, targets
from tests.conftest import bearer
from tests.harness.delivery import deliver, service_runtime

SPECIALIST = bearer(Role.SPECIALIST, "optimiser-he")


async def test_a_snapshot_event_raises_an_alert_that_a_person_acknowledges(
    alerts_client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    async with service_runtime("alerts", settings, database_url) as alerts:
        assert await deliver(alerts, targets(), str(PLAN), times=1) == ["applied"]
        rules: list[dict[str, Any]] = (
            await alerts_client.get(
                "/alerts/rules", params={"plan_id": str(PLAN)}, headers=SPECIALIST
            )
        ).json()["items"]
        assert any(r["metric"] == "ctr" and r["threshold"] == "20.000000" for r in rules)
        assert await deliver(alerts, ctr("0.012"), str(PLAN)) == ["applied", "duplicate"]

    (alert,) = (
        await alerts_client.get("/alerts/alerts", params={"plan_id": str(PLAN)}, headers=SPECIALIST)
    ).json()["items"]
    assert alert["state"] == "firing"
    started = alert["started_at"]
    for window, expected in (({"since": started}, 1), ({"until": started}, 0)):
        listed = await alerts_client.get(
            "/alerts/alerts", params={"plan_id": str(PLAN), **window}, headers=SPECIALIST
        )
        assert len(listed.json()["items"]) == expected, window
    naive = await alerts_client.get(
        "/alerts/alerts", params={"since": "2024-06-07T09:00"}, headers=SPECIALIST
    )
    assert naive.status_code == 422  # a moment without its time zone is ambiguous
    taken = await alerts_client.post(
        f"/alerts/alerts/{alert['id']}/acknowledge",
        json={"note": "swapping creatives"},
        headers=SPECIALIST,
    )
    assert taken.status_code == 200
    assert (taken.json()["state"], taken.json()["assignee"]) == ("acknowledged", "optimiser-he")
    again = await alerts_client.post(
        f"/alerts/alerts/{alert['id']}/acknowledge", json={}, headers=SPECIALIST
    )
    assert again.status_code == 409
    closed = await alerts_client.post(
        f"/alerts/alerts/{alert['id']}/resolve",
        json={"reason": "new key visual live"},
        headers=SPECIALIST,
    )
    assert closed.json()["state"] == "resolved"


async def test_rules_refuse_unknown_metrics_and_take_if_match(
    alerts_client: httpx.AsyncClient,
) -> None:
    bad = await alerts_client.post(
        "/alerts/rules",
        json={"name": "x", "kind": "threshold", "metric": "vibes", "threshold": "1"},
        headers=SPECIALIST,
    )
    assert bad.status_code == 422
    made = await alerts_client.post(
        "/alerts/rules",
        json={
            "name": "CTR floor",
            "kind": "threshold",
            "metric": "ctr",
            "threshold": "0.015",
            "recovery": "0.016",
            "min_sample": 1000,
            "for_evaluations": 2,
        },
        headers=SPECIALIST,
    )
    assert made.status_code == 201, made.text
    rule = made.json()
    tuned = await alerts_client.patch(
        f"/alerts/rules/{rule['id']}",
        json={"threshold": "0.014"},
        headers={**SPECIALIST, "If-Match": '"1"'},
    )
    assert tuned.status_code == 200
    stale = await alerts_client.patch(
        f"/alerts/rules/{rule['id']}",
        json={"threshold": "0.013"},
        headers={**SPECIALIST, "If-Match": '"1"'},
    )
    assert stale.status_code == 412


class _Threshold:
    kind, direction = "threshold", "below"
    target: Decimal | None = None
    threshold, recovery = Decimal("0.015"), Decimal("0.016")
    min_sample, ignore_provisional = 1000, True


def test_a_small_sample_or_provisional_data_gives_no_verdict() -> None:
    rule = _Threshold()
    assert condition(rule, Observation(Decimal("0.001"), sample=Decimal(200))) == "no_data"
    assert (
        condition(rule, Observation(Decimal("0.001"), sample=Decimal(5000), provisional=True))
        == "hold"
    )
    assert condition(rule, Observation(Decimal("0.010"), sample=Decimal(5000))) == "breach"
    assert condition(rule, Observation(Decimal("0.0155"), sample=Decimal(5000))) == "hold"


def test_for_evaluations_delays_firing_and_no_data_can_fire() -> None:
    first = step("ok", 0, "breach", 2, "keep")
    assert (first.state, first.action) == ("pending", None)
    second = step(first.state, first.breaches, "breach", 2, "keep")
    assert (second.state, second.action) == ("firing", "fire")
    assert step("firing", 3, "breach", 2, "keep").action is None
    assert step("ok", 0, "no_data", 1, "fire").action == "fire"
    assert step("pending", 1, "clear", 2, "keep").state == "ok"


def test_repeats_back_off_from_the_setting() -> None:
    first = Settings().alert_repeat_after_hours
    assert first == 4
    assert not repeat_due(1, 3.9, first)
    assert repeat_due(1, 4, first)
    assert not repeat_due(2, 7.9, first)
    assert repeat_due(3, 16, first)
    assert repeat_due(1, 2, 2)  # configured shorter


async def test_an_event_rule_needs_no_thresholds(alerts_client: httpx.AsyncClient) -> None:
    made = await alerts_client.post(
        "/alerts/rules",
        json={
            "name": "overspend",
            "kind": "event",
            "event_type": "planning.plan.budget_line_overspent",
            "recovery": None,
        },
        headers=SPECIALIST,
    )
    assert made.status_code == 201, made.text
