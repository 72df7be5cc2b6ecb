"""Every client error is RFC 9457 problem+json naming what failed."""

from __future__ import annotations

import json
import uuid

import httpx

from shared.contract.types import Role
from tests.conftest import bearer

PLAN = {"name": "n", "product": "p", "starts_on": "2024-05-01", "ends_on": "2024-05-02"}


async def test_unknown_fields_are_refused_by_name(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/planning/plans", json={**PLAN, "status": "approved"}, headers=bearer(Role.SPECIALIST)
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/validation"
    assert [e["field"] for e in body["errors"]] == ["status"]


async def test_a_missing_plan_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/planning/plans/{uuid.uuid4()}", headers=bearer(Role.SALES))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-found"


async def test_a_malformed_id_or_cursor_is_a_4xx_not_a_500(client: httpx.AsyncClient) -> None:
    headers = bearer(Role.SALES)
    assert (await client.get("/planning/plans/not-a-uuid", headers=headers)).status_code == 422
    bad_cursor = await client.get("/planning/plans", params={"cursor": "!!"}, headers=headers)
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["field"] == "cursor"
    too_big = await client.get("/planning/plans", params={"limit": 10_000}, headers=headers)
    assert too_big.status_code == 422


async def test_unknown_routes_are_problems_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/planning/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_lists_paginate_with_a_stable_cursor(client: httpx.AsyncClient) -> None:
    headers = bearer(Role.MANAGER)
    for n in range(5):
        created = await client.post(
            "/planning/plans", json={**PLAN, "name": f"p{n}"}, headers=headers
        )
        assert created.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/planning/plans", params=params, headers=headers)).json()
        seen += [item["name"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == [f"p{n}" for n in range(5)]
    assert len(seen) == 5


async def test_the_correlation_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/planning/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"


async def test_ops_endpoints_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    metrics = await client.get("/metrics")
    assert "http_requests_total" in metrics.text
    assert (await client.get("/openapi.json")).status_code == 404
    for service in ("planning", "tasks", "metrics", "alerts", "approvals"):
        docs = await client.get(f"/{service}/openapi.json")
        assert docs.status_code == 200
        assert all(path.startswith(f"/{service}/") for path in docs.json()["paths"])


async def test_values_the_database_cannot_store_are_a_422_and_nothing_is_stored(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer(Role.SPECIALIST)
    for bad in ("nul\u0000inside", "lone \ud83d surrogate"):
        body = json.dumps(
            {
                "name": "x",
                "product": "y",
                "starts_on": "2024-05-01",
                "ends_on": "2024-06-30",
                "departments": [bad],
            }
        )
        refused = await client.post(
            "/planning/plans", content=body, headers={**headers, "content-type": "application/json"}
        )
        assert refused.status_code == 422, refused.text
        # NUL passes validation and is refused by PostgreSQL; a lone surrogate fails validation.
        assert refused.json()["type"] in ("/problems/unstorable-value", "/problems/validation")
        if "\u0000" in bad:
            assert refused.json()["rule"] == "storable-value"
    silence = {
        "matchers": {"plan": "x"},
        "comment": "x",
        "ends_at": "0024-01-01T00:00:00Z",
        "starts_at": "0001-01-01T00:00:00+01:00",
    }
    before_year_one = await client.post("/alerts/silences", json=silence, headers=headers)
    assert before_year_one.status_code == 422
    assert before_year_one.json()["rule"] == "storable-value"
    listed = await client.get("/planning/plans", headers=headers)
    assert listed.json()["items"] == []


async def test_a_cursor_that_is_not_ours_is_a_422_on_dead_letters(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.get(
        "/tasks/dead-letters", params={"cursor": "TRUE"}, headers=bearer(Role.TECH)
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "cursor"
