"""Planning names each school's channel codes in an objective's decomposition and publishes the
tree; metrics consumes it and measures every node, and approval re-sends it at a newer revision."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from shared.contract.events.approvals import RequestKind
from tests.metrics.helpers import MANAGER
from tests.metrics.test_decomposition import DECOMPOSED, _by_name
from tests.planning.helpers import SPECIALIST, approval, publish, recorded, seeded_plan
from tests.polling import eventually

D = Decimal


def _school_tree(target: str, fudan: list[str], tongji: list[str]) -> dict[str, Any]:
    return {
        "name": "company",
        "level": "company",
        "target": target,
        "children": [
            {
                "name": "Shanghai",
                "level": "city",
                "target": "120000",
                "owner_id": "city-lead",
                "children": [
                    {"name": "Fudan", "level": "school", "target": "70000", "entities": fudan},
                    {"name": "Tongji", "level": "school", "target": "50000", "entities": tongji},
                ],
            },
            {"name": "Hangzhou", "level": "city", "target": "70000"},
        ],
    }


async def test_planning_refuses_a_code_owned_twice_and_publishes_the_tree_to_metrics(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await seeded_plan(client)
    plan_id, objective = plan["plan"]["id"], plan["objectives"][0]
    url = f"/planning/plans/{plan_id}/objectives/{objective['id']}/decomposition"
    target = objective["target_value"]

    twice = await client.put(
        url, json=_school_tree(target, ["SH-FD"], ["SH-TJ", "SH-FD"]), headers=SPECIALIST
    )
    assert twice.status_code == 422
    assert (twice.json()["field"], twice.json()["rule"]) == ("entities", "unique-entity")
    assert "SH-FD" in twice.json()["detail"]
    on_parent = _school_tree(target, ["SH-FD"], ["SH-TJ"])
    on_parent["children"][0]["entities"] = ["SH-ALL"]
    refused = await client.put(url, json=on_parent, headers=SPECIALIST)
    assert refused.status_code == 422
    assert (refused.json()["field"], refused.json()["rule"]) == ("entities", "leaf-entities")
    assert await recorded(database_url, DECOMPOSED) == []

    stored = await client.put(
        url, json=_school_tree(target, ["SH-FD-01", "SH-FD-02"], ["SH-TJ"]), headers=SPECIALIST
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["children"][0]["children"][0]["entities"] == ["SH-FD-01", "SH-FD-02"]
    (event,) = await recorded(database_url, DECOMPOSED)
    assert event["subject"] == plan_id
    data = event["data"]
    assert (data["objective_id"], data["metric"]) == (objective["id"], "registrations")
    assert [(n["name"], n["entities"]) for n in data["nodes"]] == [
        ("company", []),
        ("Shanghai", []),
        ("Fudan", ["SH-FD-01", "SH-FD-02"]),
        ("Tongji", ["SH-TJ"]),
        ("Hangzhou", []),
    ]
    ids = {n["name"]: n["node_id"] for n in data["nodes"]}
    assert {n["name"]: n["parent_id"] for n in data["nodes"]} == {
        "company": None,
        "Shanghai": ids["company"],
        "Fudan": ids["Shanghai"],
        "Tongji": ids["Shanghai"],
        "Hangzhou": ids["company"],
    }

    # Metrics consumes it: every node with its target, schools with codes measured (no facts yet).
    metrics_url = f"/metrics/plans/{plan_id}/objectives/{objective['id']}/decomposition"

    async def measured() -> dict[str, Any] | None:
        got = await client.get(metrics_url, params={"as_of": "2024-05-31"}, headers=MANAGER)
        return got.json() if got.status_code == 200 else None

    nodes = _by_name((await eventually(measured))["root"])
    assert D(nodes["company"]["target"]) == D(target)
    pace = (D(target) * 31 / 61).quantize(D("0.0001"))  # May 1 – 31 of May 1 – June 30
    assert D(nodes["company"]["expected_to_date"]) == pace
    assert (D(nodes["Fudan"]["actual"]), D(nodes["Fudan"]["payout_rate"])) == (D(0), D(0))
    assert nodes["Hangzhou"]["actual"] is None
    assert D(nodes["company"]["unassigned"]) == D(target) - D(190000)

    # Approval re-sends the targets, and the tree with them at the plan's newer revision.
    submitted = await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert submitted.status_code == 200, submitted.text
    await publish(database_url, approval(RequestKind.PLAN, plan_id), plan_id)

    async def resent() -> list[dict[str, Any]] | None:
        events = await recorded(database_url, DECOMPOSED)
        return events if len(events) == 2 else None

    first, again = await eventually(resent)
    assert again["data"]["plan_revision"] > first["data"]["plan_revision"]
    assert again["data"]["nodes"] == first["data"]["nodes"]
