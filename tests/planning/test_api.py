"""The planning API as a marketing team uses it: the docs/domain.md tables, lifecycle, bad input."""

from __future__ import annotations

from typing import Any

import httpx

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning import seed
from tests.planning.helpers import SPECIALIST, put, seeded_plan


def _as_entered(rows: list[dict[str, Any]], entered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each stored row cut down to the fields that were entered."""
    return [{k: row[k] for k in source} for row, source in zip(rows, entered, strict=True)]


async def test_the_domain_tables_round_trip_unchanged(planning_client: httpx.AsyncClient) -> None:
    plan = await seeded_plan(planning_client)
    retrieved = (
        await planning_client.get(f"/planning/plans/{plan['plan']['id']}", headers=SPECIALIST)
    ).json()

    assert _as_entered(retrieved["objectives"], seed.OBJECTIVES) == seed.OBJECTIVES
    assert _as_entered(retrieved["audience"], seed.AUDIENCE) == seed.AUDIENCE
    assert _as_entered(retrieved["channels"], seed.CHANNELS) == seed.CHANNELS
    assert _as_entered(retrieved["phases"], seed.PHASES) == seed.PHASES
    assert _as_entered(retrieved["risks"], seed.RISKS) == seed.RISKS
    channel_ids = [c["id"] for c in retrieved["channels"]]
    assert _as_entered(retrieved["budget"], seed.budget(channel_ids)) == seed.budget(channel_ids)
    assert [line["forecast"] for line in retrieved["budget"]] == [
        "120000.00",
        "380000.00",
        "300000.00",
        "200000.00",
    ]
    assert retrieved["plan"]["departments"] == seed.PLAN["departments"]
    assert retrieved["total_budget"] == "1120000.00"
    assert retrieved["reserve_share"] == "0.1071"
    assert [r["level"] for r in retrieved["risks"]] == ["medium", "high"]


async def test_a_stale_if_match_is_refused_and_changes_nothing(
    planning_client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(planning_client)
    plan_id, stale = plan["plan"]["id"], plan["plan"]["revision"]
    first = await planning_client.patch(
        f"/planning/plans/{plan_id}",
        json={"name": "first edit"},
        headers={**SPECIALIST, "If-Match": f'"{stale}"'},
    )
    assert first.status_code == 200
    assert first.headers["etag"] == f'"{stale + 1}"'
    second = await planning_client.patch(
        f"/planning/plans/{plan_id}",
        json={"name": "second edit"},
        headers={**SPECIALIST, "If-Match": f'"{stale}"'},
    )
    assert second.status_code == 412
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["current_version"] == stale + 1
    now = (await planning_client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
    assert now["plan"]["name"] == "first edit"


async def test_submission_refuses_a_reserve_outside_ten_to_fifteen_percent(
    planning_client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(planning_client, contingency_reserve="50000.00")
    refused = await planning_client.post(
        f"/planning/plans/{plan['plan']['id']}/submit", headers=SPECIALIST
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["rule"] == "contingency-reserve"
    assert problem["field"] == "contingency_reserve"
    assert "between 10% and 15%" in problem["detail"]
    still = (
        await planning_client.get(f"/planning/plans/{plan['plan']['id']}", headers=SPECIALIST)
    ).json()
    assert still["plan"]["status"] == "draft"


async def test_a_high_risk_without_a_contingency_plan_blocks_submission(
    planning_client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(planning_client)
    risky = [{**seed.RISKS[1], "contingency_plan": None}]
    plan = await put(planning_client, plan, "risks", risky)
    refused = await planning_client.post(
        f"/planning/plans/{plan['plan']['id']}/submit", headers=SPECIALIST
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "risks.0.contingency_plan"


async def test_bad_sections_are_refused_by_field_and_nothing_changes(
    planning_client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(planning_client)
    plan_id = plan["plan"]["id"]
    cases: list[tuple[str, Any, int, str]] = [
        ("objectives", [{**seed.OBJECTIVES[0], "metric": "happiness"}], 422, "objectives.0.metric"),
        (
            "objectives",
            [{**seed.OBJECTIVES[0], "due_on": "2025-01-01"}],
            422,
            "objectives.0.due_on",
        ),
        ("objectives", [{**seed.OBJECTIVES[0], "colour": "red"}], 422, "0.colour"),
        ("phases", [{**seed.PHASES[0], "ends_on": "2024-08-30"}], 422, "phases.0.starts_on"),
        (
            "budget",
            [{**seed.budget(["x"] * 4)[3], "channel_id": plan_id}],
            422,
            "budget.0.channel_id",
        ),
        ("budget", [{**seed.budget(["x"] * 4)[3], "planned": "-5"}], 422, "0.planned"),
        ("channels", [], 422, "channels"),
        ("risks", [{**seed.RISKS[0], "likelihood": 9}], 422, "0.likelihood"),
    ]
    for section, body, status, field in cases:
        response = await planning_client.put(
            f"/planning/plans/{plan_id}/{section}", json=body, headers=SPECIALIST
        )
        assert response.status_code == status, (section, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        fields = [problem.get("field")] + [e["field"] for e in problem.get("errors") or []]
        assert any(f and f.endswith(field) for f in fields), (field, problem)
    after = (await planning_client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
    assert after == {**plan, "plan": after["plan"]}
    assert after["plan"]["revision"] == plan["plan"]["revision"]


async def test_only_planners_edit_and_a_submitted_plan_is_frozen(
    planning_client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(planning_client)
    plan_id = plan["plan"]["id"]
    as_sales = await planning_client.patch(
        f"/planning/plans/{plan_id}", json={"name": "x"}, headers=bearer(Role.SALES)
    )
    assert as_sales.status_code == 403
    submitted = await planning_client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["plan"]["status"] == "submitted"
    frozen = await planning_client.patch(
        f"/planning/plans/{plan_id}", json={"name": "x"}, headers=SPECIALIST
    )
    assert frozen.status_code == 409
    assert frozen.json()["rule"] == "editable-status"
    skipped = await planning_client.post(f"/planning/plans/{plan_id}/activate", headers=SPECIALIST)
    assert skipped.status_code == 409
    assert skipped.json()["rule"] == "lifecycle"


async def test_lists_filter_by_status_owner_period_and_channel(
    planning_client: httpx.AsyncClient,
) -> None:
    seeded = await seeded_plan(planning_client)
    other = await planning_client.post(
        "/planning/plans",
        json={
            "name": "autumn",
            "product": "cream",
            "starts_on": "2024-09-01",
            "ends_on": "2024-10-31",
        },
        headers=bearer(Role.SPECIALIST, "bob"),
    )
    assert other.status_code == 201

    async def ids(**params: str) -> list[str]:
        page = await planning_client.get("/planning/plans", params=params, headers=SPECIALIST)
        assert page.status_code == 200, page.text
        return [p["id"] for p in page.json()["items"]]

    seeded_id, other_id = seeded["plan"]["id"], other.json()["plan"]["id"]
    assert set(await ids()) == {seeded_id, other_id}
    assert await ids(owner_id="bob") == [other_id]
    assert await ids(channel_type="pop_up") == [seeded_id]
    assert await ids(active_on="2024-06-18") == [seeded_id]
    assert await ids(period_from="2024-08-01") == [other_id]
    assert await ids(status="submitted") == []
    first = (
        await planning_client.get("/planning/plans", params={"limit": 1}, headers=SPECIALIST)
    ).json()
    rest = await planning_client.get(
        "/planning/plans", params={"limit": 1, "cursor": first["next_cursor"]}, headers=SPECIALIST
    )
    assert {first["items"][0]["id"], rest.json()["items"][0]["id"]} == {seeded_id, other_id}
    assert rest.json()["next_cursor"] is None
    bad = await planning_client.get(
        "/planning/plans", params={"channel_type": "telepathy"}, headers=SPECIALIST
    )
    assert bad.status_code == 422


async def test_a_create_retried_with_the_same_idempotency_key_creates_one_plan(
    planning_client: httpx.AsyncClient,
) -> None:
    headers = {**SPECIALIST, "Idempotency-Key": "create-618"}
    first = await planning_client.post("/planning/plans", json=seed.PLAN, headers=headers)
    again = await planning_client.post("/planning/plans", json=seed.PLAN, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["plan"]["id"] == first.json()["plan"]["id"]
    other = await planning_client.post(
        "/planning/plans", json={**seed.PLAN, "name": "x"}, headers=headers
    )
    assert other.status_code == 422
    listed = (await planning_client.get("/planning/plans", headers=SPECIALIST)).json()["items"]
    assert len(listed) == 1


async def test_targets_decompose_to_schools_and_partners_are_reviewed(
    planning_client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(planning_client)
    plan_id, registrations = plan["plan"]["id"], plan["objectives"][0]["id"]
    url = f"/planning/plans/{plan_id}/objectives/{registrations}/decomposition"
    tree = {
        "name": "company",
        "level": "company",
        "target": "200000",
        "children": [
            {
                "name": "Shanghai",
                "level": "city",
                "target": "120000",
                "owner_id": "city-lead",
                "children": [
                    {"name": "Fudan", "level": "school", "target": "70000", "actual": "150000"},
                    {"name": "Tongji", "level": "school", "target": "50000", "actual": "40000"},
                ],
            },
            {"name": "Hangzhou", "level": "city", "target": "70000"},
        ],
    }
    stored = await planning_client.put(url, json=tree, headers=SPECIALIST)
    assert stored.status_code == 200, stored.text
    read = (await planning_client.get(url, headers=SPECIALIST)).json()
    assert read["difference"] == "10000"
    shanghai = read["children"][0]
    assert shanghai["actual"] == "190000"
    assert [s["payout_rate"] for s in shanghai["children"]] == ["2", "0.8"]
    wrong_root = await planning_client.put(url, json={**tree, "target": "1"}, headers=SPECIALIST)
    assert wrong_root.status_code == 422
    assert wrong_root.json()["rule"] == "root-target"

    partners = [
        {
            "name": "Beauty KOC agency",
            "kind": "kol",
            "qualification": 4,
            "reputation": 5,
            "capacity": 3,
            "service_quality": 4,
            "agreement_ref": "AGR-2024-018",
        }
    ]
    plan = (await planning_client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
    plan = await put(planning_client, plan, "partners", partners)
    partner_id = plan["partners"][0]["id"]
    reviewed = await planning_client.post(
        f"/planning/plans/{plan_id}/partners/{partner_id}/reviews",
        json={"reviewed_on": "2024-06-20", "score": 4, "comment": "posted on time"},
        headers=SPECIALIST,
    )
    assert reviewed.status_code == 201
    plan = (await planning_client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
    kept = await put(
        planning_client, plan, "partners", [{**partners[0], "id": partner_id, "capacity": 4}]
    )
    assert kept["partners"][0]["capacity"] == 4
    assert kept["partners"][0]["reviews"][0]["comment"] == "posted on time"
