"""OWASP API5:2023 Broken Function Level Authorization: every route × every role.

``PERMISSIONS`` is the declared contract: for each route of each service app, who may call it.
The test enumerates the routes the apps really serve, so a route added without a line here
fails ``test_every_route_has_a_declared_permission``. For each route and role, a disallowed role
must get 403 problem+json and an allowed role must get past authorisation (anything but 401/403:
an empty body or an unknown id gives 404/422, which is fine). Without a token, a protected route
is 401. Admin holds every role (``Principal.has_any``), so it appears in every role set.
"""

from __future__ import annotations

import uuid
from typing import Final

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from allinone.app import DEFINITIONS
from shared.contract.types import Role
from tests.conftest import bearer
from tests.security.conftest import Stack

S, SUP, M, SALES, FIN, LEGAL, TECH, ADMIN = (
    Role.SPECIALIST,
    Role.SUPERVISOR,
    Role.MANAGER,
    Role.SALES,
    Role.FINANCE,
    Role.LEGAL,
    Role.TECH,
    Role.ADMIN,
)

# Access classes that are not role sets.
PUBLIC: Final = "public"  # no token needed (ops probes, API docs)
# Authenticated by the source itself: a platform's webhook signature, or an internal system's
# service token bound to the source (tests/metrics/test_internal_sources.py); no role opens it.
SIGNED: Final = "signed"
# Any person's valid token, whatever its roles; a service token is a machine's, and opens only
# the metrics source it is bound to (see test_a_service_token_is_refused_everywhere_else).
ANY_USER: Final = frozenset(Role) - {Role.SERVICE}

PLANNER = frozenset({S, SUP, M, ADMIN})
BUDGET_KEEPER = frozenset({S, M, FIN, ADMIN})
RESPONDER = frozenset({S, SUP, M, TECH, ADMIN})
ANALYST = frozenset({S, SUP, M, SALES, FIN, ADMIN})
OPERATOR = frozenset({TECH, ADMIN})
AUDITOR = frozenset({FIN, LEGAL, TECH, ADMIN})
ADMIN_ONLY = frozenset({ADMIN})
FRAUD_REVIEWER = frozenset({SUP, M, TECH, ADMIN})
RATE_KEEPER = frozenset({FIN, TECH, ADMIN})

Access = frozenset[Role] | str


def _common(service: str) -> dict[str, Access]:
    """Routes every service app serves: docs, ops probes and the dead-letter console."""
    return {
        f"GET /{service}/openapi.json": PUBLIC,
        f"GET /{service}/docs": PUBLIC,
        f"GET /{service}/redoc": PUBLIC,
        f"GET /{service}/docs/oauth2-redirect": PUBLIC,
        f"GET /{service}/healthz": PUBLIC,
        "GET /healthz": PUBLIC,
        f"GET /{service}/readyz": PUBLIC,
        "GET /readyz": PUBLIC,
        "GET /metrics": PUBLIC,  # Prometheus scrape (network-restricted in deployment)
        f"GET /{service}/metrics": PUBLIC,  # the same, behind a path-routing ingress
        f"GET /{service}/dead-letters": OPERATOR,
        f"POST /{service}/dead-letters/{{dead_letter_id}}/replay": OPERATOR,
    }


PERMISSIONS: Final[dict[str, dict[str, Access]]] = {
    "planning": {
        **_common("planning"),
        "POST /planning/plans": PLANNER,
        "GET /planning/plans": ANY_USER,
        "GET /planning/plans/{plan_id}": ANY_USER,
        # Object level too: a specialist writes only their team's plans
        # (test_object_level_plan_team).
        "PATCH /planning/plans/{plan_id}": PLANNER,
        "PUT /planning/plans/{plan_id}/members": PLANNER,
        "PUT /planning/plans/{plan_id}/objectives": PLANNER,
        "PUT /planning/plans/{plan_id}/audience": PLANNER,
        "PUT /planning/plans/{plan_id}/channels": PLANNER,
        "PUT /planning/plans/{plan_id}/budget": PLANNER,
        "PUT /planning/plans/{plan_id}/phases": PLANNER,
        "PUT /planning/plans/{plan_id}/risks": PLANNER,
        "PUT /planning/plans/{plan_id}/partners": PLANNER,
        "POST /planning/plans/{plan_id}/partners/{partner_id}/reviews": PLANNER,
        "PUT /planning/plans/{plan_id}/objectives/{objective_id}/decomposition": PLANNER,
        "GET /planning/plans/{plan_id}/objectives/{objective_id}/decomposition": ANY_USER,
        "PATCH /planning/plans/{plan_id}/budget/{line_id}": BUDGET_KEEPER,
        "POST /planning/plans/{plan_id}/submit": PLANNER,
        "POST /planning/plans/{plan_id}/activate": PLANNER,
        "POST /planning/plans/{plan_id}/complete": PLANNER,
        "POST /planning/plans/{plan_id}/archive": PLANNER,
        "PUT /planning/plans/{plan_id}/retrospective": PLANNER,
        "GET /planning/plans/{plan_id}/versions": ANY_USER,
        "GET /planning/plans/{plan_id}/versions/{version}/changes": ANY_USER,
        "POST /planning/plans/{plan_id}/adjustments": PLANNER,
        "GET /planning/plans/{plan_id}/adjustments": ANY_USER,
        "GET /planning/plans/{plan_id}/adjustments/{adjustment_id}": ANY_USER,
        "GET /planning/retrospectives": ANY_USER,
    },
    "tasks": {
        **_common("tasks"),
        "GET /tasks/plans/{plan_id}": ANY_USER,
        "POST /tasks/plans/{plan_id}/tasks": PLANNER,
        "GET /tasks/plans/{plan_id}/tasks": ANY_USER,
        "GET /tasks/plans/{plan_id}/schedule": ANY_USER,
        "POST /tasks/plans/{plan_id}/baselines": PLANNER,
        "GET /tasks/plans/{plan_id}/variance": ANY_USER,
        "POST /tasks/plans/{plan_id}/templates": PLANNER,
        "GET /tasks/tasks/{task_id}": ANY_USER,
        "POST /tasks/tasks/{task_id}/prerequisites": PLANNER,
        # Any user: the owner (R1) starts/submits, the approver (R2) decides; object-level.
        "POST /tasks/tasks/{task_id}/status": ANY_USER,
        "POST /tasks/tasks/{task_id}/reassign": PLANNER,
        "PATCH /tasks/tasks/{task_id}": PLANNER,
        "GET /tasks/tasks/{task_id}/history": ANY_USER,
        "POST /tasks/tasks/{task_id}/progress": ANY_USER,
        "GET /tasks/tasks/{task_id}/progress": ANY_USER,
        "PATCH /tasks/tasks/{task_id}/progress/{entry_id}": ANY_USER,
        "GET /tasks/owners/{owner_id}/week": ANY_USER,
        "POST /tasks/templates": PLANNER,
        "GET /tasks/templates/{template_id}": ANY_USER,
        "PUT /tasks/calendar/holidays": ADMIN_ONLY,
    },
    "metrics": {
        **_common("metrics"),
        "POST /metrics/webhooks/{source_id}": SIGNED,
        "GET /metrics/dictionary": ANY_USER,
        "PUT /metrics/dictionary/{key}": OPERATOR,
        "POST /metrics/sources": OPERATOR,
        "GET /metrics/sources": OPERATOR,
        "GET /metrics/sources/{source_id}": OPERATOR,
        "POST /metrics/sources/{source_id}/secrets": OPERATOR,
        "PUT /metrics/sources/{source_id}/mappings": OPERATOR,
        "GET /metrics/plans/{plan_id}/kpis": ANY_USER,
        "GET /metrics/plans/{plan_id}/rollups": ANY_USER,
        "GET /metrics/plans/{plan_id}/evaluation": ANY_USER,
        "GET /metrics/plans/{plan_id}/evaluation.html": ANY_USER,
        "GET /metrics/plans/{plan_id}/evaluation.csv": ANY_USER,
        "GET /metrics/plans/{plan_id}/evaluation.xlsx": ANY_USER,
        "GET /metrics/plans/{plan_id}/kpis.{form}": ANY_USER,
        "GET /metrics/plans/{plan_id}/rollups.{form}": ANY_USER,
        "PUT /metrics/plans/{plan_id}/evaluation/{objective_id}": ANALYST,
        "GET /metrics/plans/{plan_id}/fraud-flags": frozenset({S, SUP, M, FIN, TECH, ADMIN}),
        "POST /metrics/plans/{plan_id}/fraud-flags": FRAUD_REVIEWER,
        "PUT /metrics/plans/{plan_id}/fraud-flags/{flag_id}": FRAUD_REVIEWER,
        "POST /metrics/plans/{plan_id}/experiments": ANALYST,
        "GET /metrics/plans/{plan_id}/experiments": ANY_USER,
        "GET /metrics/plans/{plan_id}/experiments/{experiment_id}/review": ANY_USER,
        "GET /metrics/plans/{plan_id}/funnels": ANY_USER,
        "GET /metrics/plans/{plan_id}/trends": ANY_USER,
        "GET /metrics/plans/{plan_id}/objectives/{objective_id}/decomposition": ANY_USER,
        "PUT /metrics/fx-rates/{base}/{quote}/{valid_from}": RATE_KEEPER,
        "GET /metrics/fx-rates": RATE_KEEPER,
        "GET /metrics/plans/{plan_id}/channels/efficiency": ANY_USER,
        "GET /metrics/plans/{plan_id}/channels/parameters": ANY_USER,
        "PUT /metrics/plans/{plan_id}/channels/parameters": frozenset({S, SUP, M, FIN, ADMIN}),
        "GET /metrics/plans/{plan_id}/channels/recommendation": ANY_USER,
        "POST /metrics/sources/{source_id}/cohorts": SIGNED,
    },
    "alerts": {
        **_common("alerts"),
        "POST /alerts/rules": RESPONDER,
        "GET /alerts/rules": ANY_USER,
        "PATCH /alerts/rules/{rule_id}": RESPONDER,
        "GET /alerts/alerts": ANY_USER,
        "GET /alerts/alerts/{alert_id}": ANY_USER,
        "POST /alerts/alerts/{alert_id}/acknowledge": RESPONDER,
        "POST /alerts/alerts/{alert_id}/resolve": RESPONDER,
        "POST /alerts/alerts/{alert_id}/assign": RESPONDER,
        "POST /alerts/silences": RESPONDER,
        "GET /alerts/silences/{silence_id}": ANY_USER,
        "POST /alerts/silences/{silence_id}/expire": RESPONDER,
        "PUT /alerts/channels/{channel_id}": OPERATOR,
        "GET /alerts/channels": OPERATOR,
    },
    "approvals": {
        **_common("approvals"),
        "POST /approvals/requests/preview": ANY_USER,
        # Any user files; the policy checks (override only by admin) are object-level.
        "POST /approvals/requests": ANY_USER,
        "GET /approvals/requests": ANY_USER,
        "GET /approvals/requests/{request_id}": ANY_USER,
        # Any user may try; the open stage's roles decide (object-level, see
        # test_object_level_approvals).
        "POST /approvals/requests/{request_id}/decisions": ANY_USER,
        "GET /approvals/requests/{request_id}/history": ANY_USER,
        "GET /approvals/inbox": ANY_USER,
        "PUT /approvals/notice-preferences/me": ANY_USER,
        "GET /approvals/notice-preferences/me": ANY_USER,
        "GET /approvals/requests/{request_id}/notices": AUDITOR,
        "POST /approvals/delegations": ANY_USER,
        # Object level: only its delegator, its delegate and admins see it (404 for others).
        "GET /approvals/delegations/{delegation_id}": ANY_USER,
        "GET /approvals/workflows/{key}": ANY_USER,
        "PUT /approvals/workflows/{key}": ADMIN_ONLY,
        "GET /approvals/audit/verify": AUDITOR,
        "GET /approvals/audit/export": AUDITOR,
    },
}

# What the all-in-one root app serves itself.
ROOT_ROUTES: Final[dict[str, Access]] = {
    "GET /": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /metrics": PUBLIC,
}

# A value for each path parameter that passes its validation (ids are unknown: 404 at most).
PATH_VALUES: Final[dict[str, str]] = {
    "dead_letter_id": "1",
    "version": "2",
    "key": "plan",
    "channel_id": "ops-room",
    "owner_id": "nobody-in-particular",
    "base": "USD",
    "quote": "CNY",
    "valid_from": "2024-06-01",
}


def _served(routes: list[BaseRoute]) -> set[str]:
    served = set()
    for route in iter_route_contexts(routes):
        for method in sorted((route.methods or set()) - {"HEAD"}):
            served.add(f"{method} {route.path}")
    return served


def _url(path: str) -> str:
    url = path
    while "{" in url:
        start = url.index("{")
        end = url.index("}", start)
        name = url[start + 1 : end]
        url = url[:start] + PATH_VALUES.get(name, str(uuid.uuid4())) + url[end + 1 :]
    return url


async def _call(http: httpx.AsyncClient, route: str, headers: dict[str, str]) -> httpx.Response:
    method, path = route.split(" ", 1)
    # No body at all: a refusal must come from authorisation, before the body is looked at.
    return await http.request(method, _url(path), headers=headers)


def _is_forbidden_problem(response: httpx.Response) -> bool:
    return (
        response.status_code == 403
        and response.headers.get("content-type") == "application/problem+json"
        and response.json().get("type") == "/problems/forbidden"
    )


def test_every_role_set_is_well_formed() -> None:
    """Admin holds every role, so every role set must contain it (else the table lies)."""
    for service, routes in PERMISSIONS.items():
        for route, access in routes.items():
            if isinstance(access, frozenset):
                assert ADMIN in access, f"{service}: {route} omits admin"


async def test_every_route_has_a_declared_permission(stack: Stack) -> None:
    assert set(PERMISSIONS) == {d.name for d in DEFINITIONS}
    for name, app in stack.dispatcher.services.items():
        served = _served(list(app.routes))
        undeclared = sorted(served - set(PERMISSIONS[name]))
        stale = sorted(set(PERMISSIONS[name]) - served)
        assert not undeclared, f"{name}: routes without a declared permission: {undeclared}"
        assert not stale, f"{name}: declared routes that are not served: {stale}"
    assert _served(list(stack.root.routes)) == set(ROOT_ROUTES)


@pytest.mark.parametrize("service", [d.name for d in DEFINITIONS])
async def test_role_matrix(stack: Stack, service: str) -> None:
    http = stack.services[service]
    failures: list[str] = []
    for route, access in PERMISSIONS[service].items():
        anonymous = await _call(http, route, {})
        if access == PUBLIC:
            if anonymous.status_code in (401, 403):
                failures.append(f"{route}: public, but {anonymous.status_code} without a token")
            continue
        if access == SIGNED:
            # A bearer token neither grants nor withholds: every role sees what anonymous sees.
            for role in Role:
                got = await _call(http, route, bearer(role, f"matrix-{role.value}"))
                if got.status_code != anonymous.status_code or got.status_code == 403:
                    failures.append(
                        f"{route}: {role.value} got {got.status_code}, "
                        f"anonymous {anonymous.status_code}"
                    )
            continue
        assert isinstance(access, frozenset)
        if anonymous.status_code != 401:
            failures.append(f"{route}: {anonymous.status_code} without a token, expected 401")
        for role in Role:
            got = await _call(http, route, bearer(role, f"matrix-{role.value}"))
            if role in access and got.status_code in (401, 403):
                failures.append(f"{route}: {role.value} is allowed but got {got.status_code}")
            elif role not in access and not _is_forbidden_problem(got):
                failures.append(
                    f"{route}: {role.value} is not allowed but got {got.status_code} "
                    f"{got.headers.get('content-type')}"
                )
    assert not failures, "\n".join(failures)


async def test_the_root_app_routes(stack: Stack) -> None:
    for route, access in ROOT_ROUTES.items():
        assert access == PUBLIC
        got = await _call(stack.client, route, {})
        assert got.status_code not in (401, 403), route


async def test_a_token_with_two_roles_gets_the_union(stack: Stack) -> None:
    """Roles add up: finance alone may not create a plan, finance+specialist may."""
    from shared.kit.settings import Settings
    from shared.kit.tokens import mint_token

    token = mint_token("two-hats", [FIN, S], Settings())
    got = await stack.client.post(
        "/planning/plans", headers={"Authorization": f"Bearer {token}"}, json={}
    )
    assert got.status_code == 422, got.text
    only_finance = await stack.client.post("/planning/plans", headers=bearer(FIN), json={})
    assert only_finance.status_code == 403


async def test_a_token_with_no_roles_is_refused_everywhere_but_open_routes(stack: Stack) -> None:
    from shared.kit.settings import Settings
    from shared.kit.tokens import mint_token

    headers = {"Authorization": f"Bearer {mint_token('no-hats', [], Settings())}"}
    failures = []
    for service, routes in PERMISSIONS.items():
        for route, access in routes.items():
            if not isinstance(access, frozenset) or access == ANY_USER:
                continue
            got = await _call(stack.services[service], route, headers)
            if not _is_forbidden_problem(got):
                failures.append(f"{route}: {got.status_code}")
    assert not failures, failures


async def test_a_service_token_is_refused_everywhere_else(stack: Stack) -> None:
    """A machine's token is 403 on every route a role opens, ANY_USER ones included."""
    service = bearer(Role.SERVICE, "user-backend")
    failures = []
    for name, routes in PERMISSIONS.items():
        for route, access in routes.items():
            if not isinstance(access, frozenset):
                continue
            got = await _call(stack.services[name], route, service)
            if not _is_forbidden_problem(got):
                failures.append(f"{route}: {got.status_code}")
    assert not failures, failures
