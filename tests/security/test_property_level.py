"""OWASP API3:2023 Broken Object Property Level Authorization (mass assignment).

Every input model refuses unknown fields (``Strict``: extra="forbid"), so a client cannot set a
server-owned property (status, approver, version, timestamps, ids …) by adding it to a body.
Three layers, each generated rather than hand-listed where possible:

1. OpenAPI: every object schema reachable from a POST/PUT/PATCH body says
   ``additionalProperties: false``, and a body property whose *name* is server-owned is either
   explicitly justified in ``DECLARED_ON_PURPOSE`` or the test fails.
2. Pydantic: every ``Strict`` model in ``services/*/schemas.py`` rejects each server-owned name
   it does not declare with ``extra_forbidden``.
3. HTTP: for every write route with a JSON body, a *valid* body plus one server-owned field is
   422 (extra_forbidden at that field), and the stored object read back is unchanged.
"""

from __future__ import annotations

import copy
import importlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ValidationError

from allinone.app import DEFINITIONS
from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning import seed
from tests.planning.helpers import approved_plan, seeded_plan
from tests.polling import eventually
from tests.security.conftest import Stack

# Server-owned property names and a value a mass-assignment attempt would send.
SERVER_OWNED: Final[dict[str, Any]] = {
    "id": "00000000-0000-4000-8000-000000000001",
    "status": "approved",
    "state": "resolved",
    "approver": "mallory",
    "approver_id": "mallory",
    "approved_amount": "99999999.00",
    "approved_by": "mallory",
    "version": 99,
    "row_version": 99,
    "revision": 99,
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "created_by": "mallory",
    "requester": "mallory",
    "requested_by": "mallory",
    "decided_by": "mallory",
    "committed": "0.00",
    "actual": "0.00",
    "level": "low",
    "current_stage": 5,
    "completion": 100,
}

# Input properties that carry a server-owned *name* but are the client's by design.
DECLARED_ON_PURPOSE: Final[dict[tuple[str, str], str]] = {
    **{
        (model, "id"): "a section row is replaced in place: the client names the row to keep"
        for model in (
            "ObjectiveIn",
            "PersonaIn",
            "ChannelIn",
            "BudgetLineIn",
            "PhaseIn",
            "RiskIn",
            "PartnerIn",
            "DecompositionNodeIn",
        )
    },
    ("RiskIn", "status"): "a risk's own open/monitoring/closed, not the plan's status",
    ("DecompositionNodeIn", "level"): "the node's place in the tree (company … ambassador)",
    ("DecompositionNodeIn", "actual"): "an ambassador's reported actual, entered by hand",
    ("TaskCreate", "approver_id"): "the planner names the task's R2 when creating it",
    ("TemplateUse", "approver_id"): "the R2 given to every task made from the template",
    ("Reassignment", "approver_id"): "reassigning R2 is what this (planner-only) route does",
    ("FollowUpIn", "approver_id"): "the R2 of the follow-up task an alert rule will create",
    ("ProgressIn", "completion"): "the progress log is where completion % is reported",
    ("ProgressIn", "status"): "an issue's own open/in_progress/handled",
    ("ProgressStatus", "status"): "moving an issue along is what this route does",
    ("FraudFlagCreate", "status"): "a reviewer may flag an entity-day as excluded at once",
    ("FraudDecision", "status"): "excluding or clearing a flag is what this route does",
}

WRITE_METHODS: Final = ("post", "put", "patch")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if ref is None:
        return None, schema
    name = ref.rsplit("/", 1)[-1]
    resolved: dict[str, Any] = spec["components"]["schemas"][name]
    return name, resolved


def _objects(
    spec: dict[str, Any], schema: dict[str, Any], seen: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named or inline object schema reachable from ``schema``."""
    name, schema = _resolve(spec, schema)
    if name is not None:
        if name in seen:
            return
        seen.add(name)
    if "properties" in schema:
        yield name or "<inline>", schema
        for prop in schema["properties"].values():
            yield from _objects(spec, prop, seen)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for option in schema.get(key, []):
            yield from _objects(spec, option, seen)
    if isinstance(schema.get("items"), dict):
        yield from _objects(spec, schema["items"], seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _objects(spec, schema["additionalProperties"], seen)


def _write_bodies(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if method in WRITE_METHODS and body is not None:
                yield f"{method.upper()} {path}", body["schema"]


@pytest.mark.parametrize("service", [d.name for d in DEFINITIONS])
async def test_openapi_input_objects_are_closed(stack: Stack, service: str) -> None:
    spec = stack.dispatcher.services[service].openapi()
    failures: list[str] = []
    declared: set[tuple[str, str]] = set()
    bodies = list(_write_bodies(spec))
    assert bodies, f"{service} has no write bodies?"
    for route, schema in bodies:
        for name, obj in _objects(spec, schema, set()):
            if obj.get("additionalProperties") is not False:
                failures.append(f"{route}: {name} accepts unknown properties")
            for prop in obj["properties"]:
                if prop in SERVER_OWNED:
                    declared.add((name, prop))
    for name, prop in sorted(declared):
        if (name, prop) not in DECLARED_ON_PURPOSE:
            failures.append(f"{name}.{prop}: a server-owned name is writable; justify or remove")
    assert not failures, "\n".join(failures)


def _strict_models() -> Iterator[type[BaseModel]]:
    for definition in DEFINITIONS:
        module = importlib.import_module(f"services.{definition.name}.schemas")
        strict = getattr(module, "Strict", None)
        assert strict is not None, f"services.{definition.name}.schemas has no Strict base"
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, strict) and value is not strict:
                yield value


STRICT_MODELS: Final = sorted(_strict_models(), key=lambda m: f"{m.__module__}.{m.__name__}")


@pytest.mark.parametrize("model", STRICT_MODELS, ids=lambda m: f"{m.__module__}.{m.__name__}")
def test_strict_models_refuse_server_owned_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid"
    for name, value in SERVER_OWNED.items():
        if name in model.model_fields:
            assert (model.__name__, name) in DECLARED_ON_PURPOSE, f"{model.__name__}.{name}"
            continue
        with pytest.raises(ValidationError) as caught:
            model.model_validate({name: value})
        extra = [e for e in caught.value.errors() if e["type"] == "extra_forbidden"]
        assert [e["loc"] for e in extra] == [(name,)], f"{model.__name__} accepted {name}"


# --- HTTP: a valid body plus a server-owned field is refused, and nothing changes -----------

SPECIALIST = bearer(Role.SPECIALIST, "specialist-amy")
SUPERVISOR = bearer(Role.SUPERVISOR, "supervisor-wang")
ADMIN = bearer(Role.ADMIN, "admin-root")
TECH = bearer(Role.TECH, "data-ops")


@dataclass
class Write:
    """A write route called with a valid body; ``read`` shows what it would have changed."""

    route: str  # "METHOD /path/{param}" as in the OpenAPI document
    url: str
    body: Any
    read: str | None  # a GET that shows the stored state (None: nothing to read it back by)
    headers: dict[str, str] = field(default_factory=lambda: SPECIALIST)
    read_headers: dict[str, str] = field(default_factory=lambda: ADMIN)


# Write routes without a JSON body model, so without properties to mass-assign.
NO_JSON_MODEL: Final[dict[str, str]] = {
    "POST /metrics/webhooks/{source_id}": "raw signed bytes, parsed by ingest, not a model",
}


def _in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _world(stack: Stack) -> list[Write]:
    """Real objects of every service, and a valid write on each."""
    http = stack.client
    plan = await seeded_plan(http)
    pid = plan["plan"]["id"]
    objective = plan["objectives"][0]["id"]
    root = {"name": "HQ", "level": "company", "target": plan["objectives"][0]["target_value"]}
    partners = [
        {
            "name": "KOC agency",
            "kind": "vendor",
            "qualification": 4,
            "reputation": 4,
            "capacity": 3,
            "service_quality": 4,
        }
    ]
    etag = {"If-Match": f'"{plan["plan"]["revision"]}"'}
    put = await http.put(
        f"/planning/plans/{pid}/partners", json=partners, headers={**SPECIALIST, **etag}
    )
    assert put.status_code == 200, put.text
    plan = put.json()
    partner = plan["partners"][0]["id"]
    tree = await http.put(
        f"/planning/plans/{pid}/objectives/{objective}/decomposition",
        json=root,
        headers=SPECIALIST,
    )
    assert tree.status_code == 200, tree.text
    approved = await approved_plan(http, stack.database_url)
    aid = approved["plan"]["id"]
    line = approved["budget"][0]["id"]

    async def known() -> bool:
        return (await http.get(f"/tasks/plans/{pid}", headers=SPECIALIST)).status_code == 200

    await eventually(known)
    tasks = []
    for row in ({**seed_task(), "code": "S-001"}, {**seed_task(), "code": "S-002"}):
        made = await http.post(f"/tasks/plans/{pid}/tasks", json=row, headers=SPECIALIST)
        assert made.status_code == 201, made.text
        tasks.append(made.json())
    tid = tasks[1]["id"]
    logged = await http.post(
        f"/tasks/tasks/{tid}/progress",
        json={"logged_on": "2024-05-02", "progress": "p", "completion": 10, "owner_id": "amy"},
        headers=SPECIALIST,
    )
    assert logged.status_code == 201, logged.text
    entry = logged.json()["id"]
    rule = {"name": "cost watch", "kind": "threshold", "metric": "cost", "threshold": "100"}
    made_rule = await http.post("/alerts/rules", json=rule, headers=SPECIALIST)
    assert made_rule.status_code == 201, made_rule.text
    rid = made_rule.json()["id"]
    source = {"name": "s", "platform": "internal", "account_id": "acc-1"}
    made_source = await http.post("/metrics/sources", json=source, headers=TECH)
    assert made_source.status_code == 201, made_source.text
    sid = made_source.json()["id"]
    expense = {
        "kind": "expense",
        "title": "posters",
        "amount": "1000.00",
        "cost_type": "other",
        "event_on": _in(30)[:10],
    }
    filed = await http.post("/approvals/requests", json=expense, headers=SPECIALIST)
    assert filed.status_code == 201, filed.text
    req = filed.json()
    wecom = {"kind": "wecom", "url": "http://qyapi.test/cgi-bin/webhook/send?key=k"}
    chosen = await http.put("/approvals/notice-preferences/me", json=wecom, headers=SUPERVISOR)
    assert chosen.status_code == 200, chosen.text
    alert = uuid.uuid4()  # no alert exists: the 422 must still come before the lookup
    silence = {"matchers": {"plan_id": pid}, "starts_at": _in(0), "ends_at": _in(1), "comment": "c"}
    return [
        Write("POST /planning/plans", "/planning/plans", seed.PLAN, "/planning/plans?limit=200"),
        Write(
            "PATCH /planning/plans/{plan_id}",
            f"/planning/plans/{pid}",
            {"name": "renamed"},
            f"/planning/plans/{pid}",
        ),
        Write(
            "PUT /planning/plans/{plan_id}/members",
            f"/planning/plans/{pid}/members",
            {"members": ["specialist-bea"]},
            f"/planning/plans/{pid}",
        ),
        *[
            Write(
                f"PUT /planning/plans/{{plan_id}}/{section}",
                f"/planning/plans/{pid}/{section}",
                body,
                f"/planning/plans/{pid}",
            )
            for section, body in (
                ("objectives", seed.OBJECTIVES),
                ("audience", seed.AUDIENCE),
                ("channels", seed.CHANNELS),
                ("budget", seed.budget([c["id"] for c in plan["channels"]])),
                ("phases", seed.PHASES),
                ("risks", seed.RISKS),
                ("partners", partners),
            )
        ],
        Write(
            "POST /planning/plans/{plan_id}/partners/{partner_id}/reviews",
            f"/planning/plans/{pid}/partners/{partner}/reviews",
            {"reviewed_on": "2024-05-20", "score": 4, "comment": "on time"},
            f"/planning/plans/{pid}",
        ),
        Write(
            "PUT /planning/plans/{plan_id}/objectives/{objective_id}/decomposition",
            f"/planning/plans/{pid}/objectives/{objective}/decomposition",
            root,
            f"/planning/plans/{pid}/objectives/{objective}/decomposition",
        ),
        Write(
            "PATCH /planning/plans/{plan_id}/budget/{line_id}",
            f"/planning/plans/{aid}/budget/{line}",
            {"forecast": "1.00"},
            f"/planning/plans/{aid}",
        ),
        *[
            Write(
                f"POST /planning/plans/{{plan_id}}/{step}",
                f"/planning/plans/{plan_id}/{step}",
                {"reason": "go"},
                f"/planning/plans/{plan_id}",
            )
            for step, plan_id in (
                ("activate", aid),
                ("complete", aid),
                ("archive", aid),
            )
        ],
        Write(
            "PUT /planning/plans/{plan_id}/retrospective",
            f"/planning/plans/{aid}/retrospective",
            seed.RETROSPECTIVE,
            f"/planning/plans/{aid}",
        ),
        Write(
            "POST /planning/plans/{plan_id}/adjustments",
            f"/planning/plans/{aid}/adjustments",
            {
                "kind": "strategy",
                "reason": "r",
                "strategies": [
                    {"objective_id": approved["objectives"][0]["id"], "core_strategy": "s"}
                ],
            },
            f"/planning/plans/{aid}/adjustments",
        ),
        Write(
            "POST /tasks/plans/{plan_id}/tasks",
            f"/tasks/plans/{pid}/tasks",
            {**seed_task(), "code": "S-003"},
            f"/tasks/plans/{pid}/tasks",
        ),
        Write(
            "POST /tasks/plans/{plan_id}/templates",
            f"/tasks/plans/{pid}/templates",
            {
                "template_id": str(uuid.uuid4()),
                "start_on": "2024-05-01",
                "owner_id": "amy",
                "approver_id": "wang",
                "when": "now",
            },
            f"/tasks/plans/{pid}/tasks",
        ),
        Write(
            "POST /tasks/tasks/{task_id}/prerequisites",
            f"/tasks/tasks/{tid}/prerequisites",
            {"code": "S-001"},
            f"/tasks/tasks/{tid}",
        ),
        Write(
            "POST /tasks/tasks/{task_id}/status",
            f"/tasks/tasks/{tid}/status",
            {"to": "in_progress"},
            f"/tasks/tasks/{tid}",
            headers=bearer(Role.SPECIALIST, tasks[1]["owner_id"]),
        ),
        Write(
            "POST /tasks/tasks/{task_id}/reassign",
            f"/tasks/tasks/{tid}/reassign",
            {"owner_id": "someone-else", "reason": "holiday"},
            f"/tasks/tasks/{tid}",
        ),
        Write(
            "PATCH /tasks/tasks/{task_id}",
            f"/tasks/tasks/{tid}",
            {"name": "renamed"},
            f"/tasks/tasks/{tid}",
        ),
        Write(
            "POST /tasks/tasks/{task_id}/progress",
            f"/tasks/tasks/{tid}/progress",
            {"logged_on": "2024-05-03", "progress": "p", "completion": 20, "owner_id": "amy"},
            f"/tasks/tasks/{tid}/progress",
        ),
        Write(
            "PATCH /tasks/tasks/{task_id}/progress/{entry_id}",
            f"/tasks/tasks/{tid}/progress/{entry}",
            {"status": "handled"},
            f"/tasks/tasks/{tid}/progress",
        ),
        Write(
            "POST /tasks/templates", "/tasks/templates", {"name": "t", "from_plan_id": pid}, None
        ),
        Write(
            "PUT /tasks/calendar/holidays",
            "/tasks/calendar/holidays",
            [{"day": "2024-06-10", "name": "Dragon Boat"}],
            None,
            headers=ADMIN,
        ),
        Write("POST /metrics/sources", "/metrics/sources", source, "/metrics/sources", TECH),
        Write(
            "PUT /metrics/dictionary/{key}",
            "/metrics/dictionary/cost_per_mille",
            {"name": "CPM", "definition": "d", "expression": "cost / impressions * 1000"},
            "/metrics/dictionary",
            TECH,
        ),
        Write(
            "PUT /metrics/sources/{source_id}/mappings",
            f"/metrics/sources/{sid}/mappings",
            [{"entity": "cmp-1", "plan_id": aid}],
            None,
            TECH,
        ),
        Write(
            "POST /metrics/plans/{plan_id}/fraud-flags",
            f"/metrics/plans/{aid}/fraud-flags",
            {"source_id": sid, "entity": "cmp-1", "day": "2024-06-07", "reason": "spike"},
            f"/metrics/plans/{aid}/fraud-flags",
            SUPERVISOR,
        ),
        Write(
            "POST /metrics/plans/{plan_id}/experiments",
            f"/metrics/plans/{aid}/experiments",
            {
                "name": "hero creative",
                "metric": "ctr",
                "arms": [
                    {"name": "a", "entities": ["cmp-1"]},
                    {"name": "b", "entities": ["cmp-2"]},
                ],
                "minimum_sample": 1000,
            },
            f"/metrics/plans/{aid}/experiments",
            SUPERVISOR,
        ),
        Write(
            "PUT /metrics/plans/{plan_id}/fraud-flags/{flag_id}",
            f"/metrics/plans/{aid}/fraud-flags/{uuid.uuid4()}",
            {"status": "cleared", "note": "a school fair explains it"},
            f"/metrics/plans/{aid}/fraud-flags",
            SUPERVISOR,
        ),
        Write(
            "PUT /metrics/plans/{plan_id}/evaluation/{objective_id}",
            f"/metrics/plans/{aid}/evaluation/{approved['objectives'][0]['id']}",
            {"analysis": "fine"},
            f"/metrics/plans/{aid}/evaluation",
        ),
        Write(
            "PUT /metrics/fx-rates/{base}/{quote}/{valid_from}",
            "/metrics/fx-rates/USD/CNY/2024-06-01",
            {"rate": "7.1"},
            "/metrics/fx-rates",
            bearer(Role.FINANCE, "finance-zhao"),
        ),
        Write(
            "PUT /metrics/plans/{plan_id}/channels/parameters",
            f"/metrics/plans/{aid}/channels/parameters",
            {"gross_margin": "0.4", "purchase_frequency": "2", "lifespan_years": "1.5"},
            f"/metrics/plans/{aid}/channels/parameters",
            bearer(Role.FINANCE, "finance-zhao"),
        ),
        Write("POST /alerts/rules", "/alerts/rules", rule, "/alerts/rules"),
        Write(
            "PATCH /alerts/rules/{rule_id}",
            f"/alerts/rules/{rid}",
            {"severity": "critical"},
            "/alerts/rules",
        ),
        *[
            Write(
                f"POST /alerts/alerts/{{alert_id}}/{action}",
                f"/alerts/alerts/{alert}/{action}",
                body,
                "/alerts/alerts",
            )
            for action, body in (
                ("acknowledge", {"note": "on it"}),
                ("resolve", {"reason": "fixed"}),
                ("assign", {"assignee": "he"}),
            )
        ],
        Write("POST /alerts/silences", "/alerts/silences", silence, None),
        Write(
            "PUT /alerts/channels/{channel_id}",
            "/alerts/channels/ops-room",
            {
                "url": "https://hooks.example.com/x",
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            },
            "/alerts/channels",
            TECH,
            TECH,
        ),
        Write("POST /approvals/requests/preview", "/approvals/requests/preview", expense, None),
        Write("POST /approvals/requests", "/approvals/requests", expense, "/approvals/requests"),
        Write(
            "POST /approvals/requests/{request_id}/decisions",
            f"/approvals/requests/{req['id']}/decisions",
            {"stage": req["current_stage"], "decision": "approve"},
            f"/approvals/requests/{req['id']}",
            SUPERVISOR,
        ),
        Write(
            "POST /approvals/delegations",
            "/approvals/delegations",
            {"delegate": "deputy", "starts_at": _in(0), "ends_at": _in(2)},
            "/approvals/audit/export",
        ),
        Write(
            "PUT /approvals/notice-preferences/me",
            "/approvals/notice-preferences/me",
            wecom,
            "/approvals/notice-preferences/me",
            SUPERVISOR,
            SUPERVISOR,
        ),
        Write(
            "PUT /approvals/workflows/{key}",
            "/approvals/workflows/plan",
            {"title": "t", "stages": [{"name": "s", "roles": ["manager"]}]},
            "/approvals/workflows/plan",
            ADMIN,
        ),
    ]


def seed_task() -> dict[str, Any]:
    return {
        "name": "KOC screening",
        "owner_id": "specialist-amy",
        "approver_id": "supervisor-wang",
        "starts_on": "2024-05-01",
        "ends_on": "2024-05-10",
    }


def _with(body: Any, name: str, value: Any) -> tuple[Any, str]:
    """The body with one more property (in the first item of a list body) and its error path."""
    changed = copy.deepcopy(body)
    if isinstance(changed, list):
        changed[0][name] = value
        return changed, f"0.{name}"
    changed[name] = value
    return changed, name


def _documented_writes(stack: Stack) -> set[str]:
    routes = set()
    for app in stack.dispatcher.services.values():
        for route in iter_route_contexts(list(app.routes)):
            body = getattr(route, "body_field", None)
            for method in (route.methods or set()) & {"POST", "PUT", "PATCH"}:
                if body is not None:
                    routes.add(f"{method} {route.path}")
    return routes


@pytest.fixture(scope="module")
async def writes(stack: Stack) -> list[Write]:
    return await _world(stack)


def test_every_write_route_is_exercised(stack: Stack, writes: list[Write]) -> None:
    """A new body-taking route must join ``_world`` (or ``NO_JSON_MODEL``, with a reason)."""
    covered = {w.route for w in writes} | set(NO_JSON_MODEL)
    documented = _documented_writes(stack)
    missing = sorted(documented - covered)
    assert not missing, f"write routes without a mass-assignment check: {missing}"
    stale = sorted({w.route for w in writes} - documented)
    assert not stale, f"not body-taking routes: {stale}"


async def test_server_owned_fields_are_refused_and_nothing_changes(
    stack: Stack, writes: list[Write]
) -> None:
    http = stack.client
    failures: list[str] = []
    for write in writes:
        method = write.route.split(" ", 1)[0]
        model_fields = _body_fields(stack, write.route)
        before = await _read(http, write)
        for name, value in SERVER_OWNED.items():
            if name in model_fields:
                continue  # declared on purpose (test_openapi_input_objects_are_closed)
            body, path = _with(write.body, name, value)
            got = await http.request(method, write.url, json=body, headers=write.headers)
            codes = (
                {(e["field"], e["code"]) for e in got.json().get("errors") or []}
                if got.headers.get("content-type") == "application/problem+json"
                else set()
            )
            if got.status_code != 422 or (path, "extra_forbidden") not in codes:
                failures.append(f"{write.route} + {name}: {got.status_code} {got.text[:200]}")
        after = await _read(http, write)
        if before != after:
            failures.append(f"{write.route}: the stored state changed\n{before}\n{after}")
    assert not failures, "\n".join(failures)


async def test_the_valid_bodies_are_valid(stack: Stack, writes: list[Write]) -> None:
    """Guard for the test above: without the extra field, each body passes validation.

    Runs last: these writes really happen.
    """
    failures = []
    for write in writes:
        method = write.route.split(" ", 1)[0]
        got = await stack.client.request(method, write.url, json=write.body, headers=write.headers)
        problem = got.json() if got.status_code == 422 else {}
        # A business-rule 422 is fine; a schema error means the body is wrong.
        if problem.get("type") == "/problems/validation":
            failures.append(f"{write.route}: {problem['errors']}")
    assert not failures, "\n".join(failures)


def _body_fields(stack: Stack, route: str) -> set[str]:
    method, path = route.split(" ", 1)
    service = path.split("/")[1]
    spec = stack.dispatcher.services[service].openapi()
    schema = spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
    _name, resolved = _resolve(spec, schema["schema"])
    if "items" in resolved:
        _name, resolved = _resolve(spec, resolved["items"])
    for option in resolved.get("anyOf", []):  # an optional body: T | None
        _name, candidate = _resolve(spec, option)
        if "properties" in candidate:
            resolved = candidate
    return set(resolved.get("properties", {}))


async def _read(http: httpx.AsyncClient, write: Write) -> Any:
    if write.read is None:
        return None
    got = await http.get(write.read, headers=write.read_headers)
    assert got.status_code == 200, f"{write.read}: {got.status_code} {got.text}"
    return got.json()
