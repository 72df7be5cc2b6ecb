"""Every ``201 Created`` says where the new thing is: a ``Location`` header, checked in real calls.

``test_every_create_is_covered`` reads the 201 routes from each service's OpenAPI, so a create
added later fails until its Location is checked here or in the test named in ``ELSEWHERE``.
"""

from __future__ import annotations

from typing import Final

import pytest

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning import seed
from tests.planning.helpers import SPECIALIST
from tests.security.conftest import Stack
from tests.security.test_idempotent_creates import CASES, _filled, ids  # noqa: F401

# Where each create's new thing lives; "{id}" is the created body's id. A route that serves no GET
# there (the rule and the log entry are changed with PATCH) is named in NOT_READABLE.
WHERE: Final[dict[str, str]] = {
    "approvals-request": "/approvals/requests/{id}",
    "task": "/tasks/tasks/{id}",
    "alert-rule": "/alerts/rules/{id}",
    "silence": "/alerts/silences/{id}",
    "metrics-source": "/metrics/sources/{id}",
    "delegation": "/approvals/delegations/{id}",
    "progress-entry": "/tasks/tasks/{task_id}/progress/{id}",
    "wbs-template": "/tasks/templates/{id}",
    # a review is kept with its partner, in the plan's partners section
    "partner-review": "/planning/plans/{plan_id}",
}
NOT_READABLE: Final = {"alert-rule", "progress-entry"}

# Creates whose Location is checked next to the test that makes one already.
ELSEWHERE: Final[dict[str, str]] = {
    "POST /planning/plans/{plan_id}/adjustments": "tests/planning/test_handlers.py",
    "POST /metrics/plans/{plan_id}/experiments": "tests/metrics/test_experiments.py",
    "POST /metrics/plans/{plan_id}/fraud-flags": "tests/metrics/test_fraud.py",
}
HERE: Final = {"POST /planning/plans", "POST /tasks/plans/{plan_id}/baselines"}


def test_every_create_is_covered(stack: Stack) -> None:
    declared = set()
    for app in stack.dispatcher.services.values():
        for path, operations in app.openapi()["paths"].items():
            for method, operation in operations.items():
                if "201" in operation.get("responses", {}):
                    declared.add(f"{method.upper()} {path}")
                    assert "Location" in operation["responses"]["201"]["headers"], path
    covered = {f"POST {case.path}" for case in CASES.values()} | set(ELSEWHERE) | HERE
    assert declared == covered, (
        f"creates without a Location check: {sorted(declared - covered)}; "
        f"stale entries: {sorted(covered - declared)}"
    )


@pytest.mark.parametrize("name", list(CASES))
async def test_a_create_answers_where_it_is(stack: Stack, ids: dict[str, str], name: str) -> None:  # noqa: F811
    case = CASES[name]
    caller = bearer(case.role, f"location-{name}")
    made = await stack.client.post(
        case.path.format(**ids), json=_filled(case.other, ids), headers=caller
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["location"] == WHERE[name].format(**ids, id=body["id"])
    shown = await stack.client.get(made.headers["location"], headers=caller)
    if name in NOT_READABLE:
        assert shown.status_code == 405
    elif name == "partner-review":
        assert shown.status_code == 200, shown.text
        assert body in shown.json()["partners"]
    else:
        # the same thing (a source's first secret is shown once, in the create's answer only)
        assert (shown.status_code, shown.json()["id"]) == (200, body["id"]), shown.text


async def test_a_retried_create_points_at_the_same_place(
    stack: Stack,
    ids: dict[str, str],  # noqa: F811
) -> None:
    headers = {**bearer(Role.SPECIALIST, "location-retry"), "Idempotency-Key": "location-1"}
    first = await stack.client.post("/planning/plans", json=seed.PLAN, headers=headers)
    again = await stack.client.post("/planning/plans", json=seed.PLAN, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), first.text
    location = f"/planning/plans/{first.json()['plan']['id']}"
    assert first.headers["location"] == again.headers["location"] == location
    shown = await stack.client.get(location, headers=SPECIALIST)
    assert shown.json()["plan"]["id"] == first.json()["plan"]["id"]

    baseline = await stack.client.post(
        f"/tasks/plans/{ids['plan_id']}/baselines", headers=SPECIALIST
    )
    assert baseline.status_code == 201, baseline.text
    # a baseline is read as the variance against it
    assert baseline.headers["location"] == f"/tasks/plans/{ids['plan_id']}/variance"
    variance = await stack.client.get(baseline.headers["location"], headers=SPECIALIST)
    assert "BASE-1" in [v["code"] for v in variance.json()["items"]]
