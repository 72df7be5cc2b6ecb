"""Every 4xx has the one problem shape the OpenAPI declares, names its field, and a 405 says
which methods the path takes."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import jsonschema_rs

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning.helpers import SPECIALIST, seeded_plan

SERVICES = ("planning", "tasks", "metrics", "alerts", "approvals")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
JSON = {"content-type": "application/json"}


async def _declared_problem(client: httpx.AsyncClient, service: str) -> jsonschema_rs.Validator:
    document = (await client.get(f"/{service}/openapi.json")).json()
    schema = {"$ref": "#/components/schemas/Problem", "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def _violations(validator: jsonschema_rs.Validator, body: Any) -> list[str]:
    return [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]


async def test_a_refused_submission_lists_its_findings_in_the_declared_shape(
    client: httpx.AsyncClient,
) -> None:
    plan = await seeded_plan(client, contingency_reserve="50000.00")
    refused = await client.post(f"/planning/plans/{plan['plan']['id']}/submit", headers=SPECIALIST)
    assert refused.status_code == 422
    body = refused.json()
    assert _violations(await _declared_problem(client, "planning"), body) == []
    finding = next(e for e in body["errors"] if e["field"] == "contingency_reserve")
    assert finding["location"] == "body"
    assert finding["code"] == finding["rule"] == "contingency-reserve"


async def test_client_errors_of_every_kind_match_the_declared_problem(
    client: httpx.AsyncClient,
) -> None:
    admin = bearer(Role.ADMIN, "root")
    answers = {
        "planning": [
            await client.post("/planning/plans", json={"name": ""}, headers=admin),
            await client.get(f"/planning/plans/{uuid.uuid4()}", headers=admin),
            await client.delete("/planning/plans", headers=admin),
            await client.post("/planning/plans", content=b"{oops", headers={**admin, **JSON}),
            await client.get("/planning/plans"),
        ],
        "metrics": [
            await client.post(f"/metrics/webhooks/{uuid.uuid4()}", content=b"[]", headers=JSON),
        ],
        "approvals": [
            await client.post("/approvals/requests", json={"kind": "nope"}, headers=admin),
        ],
    }
    for service, responses in answers.items():
        validator = await _declared_problem(client, service)
        for response in responses:
            assert 400 <= response.status_code < 500, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert _violations(validator, response.json()) == [], response.text


async def test_malformed_json_names_the_body_and_says_where(client: httpx.AsyncClient) -> None:
    refused = await client.post(
        "/planning/plans", content=b'{"name": nope}', headers={**SPECIALIST, **JSON}
    )
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "body"
    assert error["code"] == "json_invalid"
    assert "at character 9" in error["message"]  # where "nope" starts


async def test_a_task_ending_before_it_starts_names_ends_on(client: httpx.AsyncClient) -> None:
    task = {
        "code": "T-1",
        "name": "brief the agency",
        "starts_on": "2024-05-10",
        "ends_on": "2024-05-09",
        "owner_id": "amy",
        "approver_id": "bob",
    }
    refused = await client.post(f"/tasks/plans/{uuid.uuid4()}/tasks", json=task, headers=SPECIALIST)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["ends_on"]
    assert refused.json()["detail"] == "Invalid input: ends_on"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "zz-405", path)


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


async def test_every_405_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    checked = 0
    for service in SERVICES:
        document = (await client.get(f"/{service}/openapi.json")).json()
        paths = document["paths"]
        for path, item in paths.items():
            declared = {m.upper() for m in item if m.upper() in METHODS}
            # A method another route takes on this very URL (GET /requests/preview is also
            # GET /requests/{id}) is no 405.
            taken = {
                m.upper()
                for other, other_item in paths.items()
                if other != path and _template(other).match(_concrete(path))
                for m in other_item
                if m.upper() in METHODS
            }
            missing = [m for m in METHODS if m not in declared | taken]
            if not missing:
                continue
            answer = await client.request(missing[0], _concrete(path))
            assert answer.status_code == 405, f"{missing[0]} {path}: {answer.status_code}"
            allowed = {m.strip() for m in answer.headers.get("allow", "").split(",")}
            assert allowed == declared, f"{missing[0]} {path}"
            checked += 1
    assert checked >= 90  # every path of the five services that does not take every method


async def test_a_literal_path_is_its_own_resource_not_a_bad_id(client: httpx.AsyncClient) -> None:
    admin = bearer(Role.ADMIN, "root")
    preview = await client.get("/approvals/requests/preview", headers=admin)
    assert preview.status_code == 405
    assert preview.headers["allow"] == "POST"
    bad_id = await client.get("/approvals/requests/not-an-id", headers=admin)
    assert bad_id.status_code == 422
    assert [e["field"] for e in bad_id.json()["errors"]] == ["path.request_id"]
