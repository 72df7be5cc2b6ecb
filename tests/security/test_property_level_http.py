"""OWASP API3:2023 Broken Object Property Level Authorization (mass assignment) over HTTP.

For every write route with a JSON body, a *valid* body plus one server-owned field is 422
(extra_forbidden at that field), and the stored object read back is unchanged. (The OpenAPI and
Pydantic layers of the same guarantee are test_property_level_schemas.)
"""

from __future__ import annotations

import copy
from typing import Any, Final

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from tests.security.conftest import Stack
from tests.security.server_owned import SERVER_OWNED, resolve
from tests.security.write_routes import Write, every_write

# Write routes without a JSON body model, so without properties to mass-assign.
NO_JSON_MODEL: Final[dict[str, str]] = {
    "POST /metrics/webhooks/{source_id}": "raw signed bytes, parsed by ingest, not a model",
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
    return await every_write(stack)


def test_every_write_route_is_exercised(stack: Stack, writes: list[Write]) -> None:
    """A new body-taking route must join ``every_write`` (or ``NO_JSON_MODEL``, with a reason)."""
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
    _name, resolved = resolve(spec, schema["schema"])
    if "items" in resolved:
        _name, resolved = resolve(spec, resolved["items"])
    for option in resolved.get("anyOf", []):  # an optional body: T | None
        _name, candidate = resolve(spec, option)
        if "properties" in candidate:
            resolved = candidate
    return set(resolved.get("properties", {}))


async def _read(http: httpx.AsyncClient, write: Write) -> Any:
    if write.read is None:
        return None
    got = await http.get(write.read, headers=write.read_headers)
    assert got.status_code == 200, f"{write.read}: {got.status_code} {got.text}"
    return got.json()
