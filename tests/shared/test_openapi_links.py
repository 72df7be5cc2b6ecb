"""Each service's main create operation links to every operation on what it created that
needs no other id than the new one (and the ids in the create's own path)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

CREATES = [
    ("planning", "/planning/plans", "plan_id", "/plan/id"),
    ("tasks", "/tasks/plans/{plan_id}/tasks", "task_id", "/id"),
    ("metrics", "/metrics/sources", "source_id", "/id"),
    ("alerts", "/alerts/rules", "rule_id", "/id"),
    ("alerts", "/alerts/silences", "silence_id", "/id"),
    ("approvals", "/approvals/requests", "request_id", "/id"),
]


@pytest.mark.parametrize(("service", "path", "parameter", "pointer"), CREATES)
async def test_a_create_links_to_every_operation_on_its_resource(
    client: httpx.AsyncClient, service: str, path: str, parameter: str, pointer: str
) -> None:
    document = (await client.get(f"/{service}/openapi.json")).json()
    created = document["paths"][path]["post"]
    status = "201" if "201" in created["responses"] else "200"
    links: dict[str, Any] = created["responses"][status].get("links", {})
    known = {parameter, *re.findall(r"\{([^}]+)\}", path)}
    operations = {
        op["operationId"]
        for target, item in document["paths"].items()
        for op in item.values()
        if f"{{{parameter}}}" in target and set(re.findall(r"\{([^}]+)\}", target)) <= known
    }
    assert operations, "some operation takes the created id"
    assert {link["operationId"] for link in links.values()} == operations
    for link in links.values():
        assert link["parameters"][parameter] == f"$response.body#{pointer}"
