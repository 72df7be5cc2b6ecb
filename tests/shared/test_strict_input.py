"""Numbers are not dates and booleans are not numbers, in bodies and in query strings."""

from __future__ import annotations

import httpx
import pytest

from shared.contract.types import Role
from tests.conftest import bearer

MANAGER = bearer(Role.MANAGER, "manager-li")
TECH = bearer(Role.TECH, "data-ops")


def _refused_fields(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [e["field"] for e in answer.json()["errors"]]


@pytest.mark.parametrize("number", ["0", "0.5", "20240501"])
async def test_a_number_in_a_date_query_is_refused(client: httpx.AsyncClient, number: str) -> None:
    plans = await client.get("/planning/plans", params={"period_to": number}, headers=MANAGER)
    assert _refused_fields(plans) == ["query.period_to"]
    alerts = await client.get("/alerts/alerts", params={"until": number}, headers=MANAGER)
    assert _refused_fields(alerts) == ["query.until"]


async def test_iso_dates_in_queries_still_work(client: httpx.AsyncClient) -> None:
    plans = await client.get("/planning/plans", params={"period_to": "2024-05-01"}, headers=MANAGER)
    assert plans.status_code == 200
    alerts = await client.get(
        "/alerts/alerts", params={"until": "2024-05-01T00:00:00+08:00"}, headers=MANAGER
    )
    assert alerts.status_code == 200


async def test_a_silence_starting_at_zero_is_refused_not_made_in_1970(
    client: httpx.AsyncClient,
) -> None:
    silence = {"matchers": {"plan": "x"}, "comment": "maintenance", "ends_at": 4102444800}
    refused = await client.post(
        "/alerts/silences", json={**silence, "starts_at": 0}, headers=MANAGER
    )
    assert sorted(_refused_fields(refused)) == ["ends_at", "starts_at"]
    assert refused.json()["errors"][0]["code"] == "datetime_from_number"


async def test_false_is_not_zero_settlement_days(client: httpx.AsyncClient) -> None:
    source = {"name": "meta account", "platform": "internal", "account_id": "act_1"}
    refused = await client.post(
        "/metrics/sources", json={**source, "settlement_days": False}, headers=TECH
    )
    assert _refused_fields(refused) == ["settlement_days"]
    assert refused.json()["errors"][0]["code"] == "int_from_bool"
    accepted = await client.post(
        "/metrics/sources", json={**source, "settlement_days": 0}, headers=TECH
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["settlement_days"] == 0


async def test_a_numeric_date_in_a_task_body_names_its_field(client: httpx.AsyncClient) -> None:
    task = {
        "code": "T-1",
        "name": "brief the agency",
        "starts_on": 0,
        "ends_on": "2024-05-09",
        "owner_id": "amy",
        "approver_id": "bob",
    }
    refused = await client.post(
        "/tasks/plans/00000000-0000-0000-0000-000000000001/tasks", json=task, headers=MANAGER
    )
    assert _refused_fields(refused) == ["starts_on"]


async def test_a_number_is_not_a_boolean(client: httpx.AsyncClient) -> None:
    channel = {
        "url": "https://hooks.example.com/alerts",
        "secret": "s" * 16,
        "business_hours": {"critical_anytime": 0},
    }
    refused = await client.put("/alerts/channels/ops", json=channel, headers=TECH)
    assert _refused_fields(refused) == ["business_hours.critical_anytime"]
    assert refused.json()["errors"][0]["code"] == "bool_from_other"
