"""One paging convention on every list, the way every route has a declared permission.

``test_every_list_route_pages`` reads each service's OpenAPI: a GET whose success body is a JSON
array, or an object with ``items``, must take ``limit`` (with a default and a cap) and ``cursor``
and answer ``next_cursor``, so a list route added later without paging fails here. The other
tests walk a real list by its ``Link`` header with a filter on, and refuse what the kit refuses.
"""

from __future__ import annotations

import re
from typing import Any, Final

import httpx
import pytest

from shared.contract.types import Role
from shared.kit.pagination import MAX_PAGE_SIZE
from tests.conftest import bearer
from tests.security.conftest import Stack

# Lists that are not paged, and why. Keep it short: every line here is a list a client reads whole.
EXEMPT: Final[dict[str, str]] = {
    # A document, not a collection: the critical path and the working days are computed over the
    # whole WBS, and a Gantt chart draws every row; the plan's tasks themselves are paged at
    # GET /tasks/plans/{plan_id}/tasks.
    "GET /tasks/plans/{plan_id}/schedule": "the schedule is one computed document",
}

FINANCE = bearer(Role.FINANCE, "paging-finance")
_LINK = re.compile(r'^<(?P<target>[^>]+)>; rel="next"$')


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


def _lists(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every GET whose success answer is a JSON list (bare, or an ``items`` page)."""
    found = {}
    for path, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        for code, answer in operation.get("responses", {}).items():
            if not code.startswith("2"):
                continue
            body = answer.get("content", {}).get("application/json", {}).get("schema")
            if body is None:
                continue
            shape = _schema(spec, body)
            if shape.get("type") == "array" or "items" in shape.get("properties", {}):
                found[f"GET {path}"] = {"operation": operation, "shape": shape}
    return found


def _paging_faults(route: str, operation: dict[str, Any], shape: dict[str, Any]) -> list[str]:
    query = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    faults = []
    if shape.get("type") == "array":
        faults.append(f"{route}: answers a bare array, not a page")
    elif "next_cursor" not in shape.get("properties", {}):
        faults.append(f"{route}: its page has no next_cursor")
    if "cursor" not in query:
        faults.append(f"{route}: no cursor parameter")
    if shape.get("type") != "array" and "Link" not in operation["responses"]["200"].get(
        "headers", {}
    ):
        faults.append(f"{route}: its Link header is not declared")
    limit = query.get("limit", {}).get("schema", {})
    if not limit:
        faults.append(f"{route}: no limit parameter")
    elif limit.get("maximum", MAX_PAGE_SIZE + 1) > MAX_PAGE_SIZE or "default" not in limit:
        faults.append(f"{route}: limit needs a default and a cap of at most {MAX_PAGE_SIZE}")
    return faults


async def test_every_list_route_pages(stack: Stack) -> None:
    faults: list[str] = []
    seen: set[str] = set()
    for app in stack.dispatcher.services.values():
        for route, found in _lists(app.openapi()).items():
            seen.add(route)
            if route in EXEMPT:
                continue
            faults += _paging_faults(route, found["operation"], found["shape"])
    assert not faults, "lists without the paging convention:\n" + "\n".join(faults)
    assert set(EXEMPT) <= seen, f"stale exemptions: {sorted(set(EXEMPT) - seen)}"
    # The guard sees the lists it is meant to: today's, not an empty walk.
    assert len(seen) >= 25, sorted(seen)


def test_the_guard_catches_a_bare_list_and_a_page_without_a_cursor() -> None:
    """The check itself: an unpaged list added later is named, with what it lacks."""
    bare = {"type": "array", "items": {"type": "string"}}
    assert _paging_faults("GET /new", {"parameters": []}, bare) == [
        "GET /new: answers a bare array, not a page",
        "GET /new: no cursor parameter",
        "GET /new: no limit parameter",
    ]
    uncapped: dict[str, Any] = {
        "parameters": [{"name": "limit", "in": "query", "schema": {"default": 50}}],
        "responses": {"200": {"headers": {"Link": {}}}},
    }
    page: dict[str, Any] = {"properties": {"items": {}, "next_cursor": {}}}
    assert _paging_faults("GET /new", uncapped, page) == [
        "GET /new: no cursor parameter",
        f"GET /new: limit needs a default and a cap of at most {MAX_PAGE_SIZE}",
    ]


async def _rate(http: httpx.AsyncClient, pair: str, day: str, rate: str) -> None:
    base, quote = pair.split("/")
    stored = await http.put(
        f"/metrics/fx-rates/{base}/{quote}/{day}", json={"rate": rate}, headers=FINANCE
    )
    assert stored.status_code == 200, stored.text


async def test_a_list_is_walked_by_its_link_header_with_its_filters(stack: Stack) -> None:
    http = stack.client
    for day, rate in (("2024-06-01", "7.10"), ("2024-06-02", "7.11"), ("2024-06-03", "7.12")):
        await _rate(http, "USD/CNY", day, rate)
    await _rate(http, "EUR/CNY", "2024-06-01", "7.70")  # another base: filtered out below

    first = await http.get("/metrics/fx-rates", params={"base": "USD", "limit": 2}, headers=FINANCE)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [r["valid_from"] for r in body["items"]] == ["2024-06-01", "2024-06-02"]
    assert body["next_cursor"]
    link = _LINK.match(first.headers["link"])
    assert link is not None, first.headers["link"]
    target = httpx.URL(link["target"])
    assert target.path == "/metrics/fx-rates"
    assert dict(target.params) == {"base": "USD", "limit": "2", "cursor": body["next_cursor"]}

    second = await http.get(link["target"], headers=FINANCE)
    assert second.status_code == 200, second.text
    assert [(r["base"], r["valid_from"]) for r in second.json()["items"]] == [("USD", "2024-06-03")]
    assert second.json()["next_cursor"] is None
    assert "link" not in second.headers

    whole = await http.get("/metrics/fx-rates", params={"limit": 200}, headers=FINANCE)
    assert [r["base"] for r in whole.json()["items"]] == ["EUR", "USD", "USD", "USD"]
    assert "link" not in whole.headers


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": MAX_PAGE_SIZE + 1}, "query.limit"),
        ({"limit": 0}, "query.limit"),
        ({"cursor": "not-ours"}, "cursor"),
        # well-formed base64 of a key of the wrong shape: still not a cursor this API issued
        ({"cursor": "WyJhIiwgImIiXQ"}, "cursor"),
    ],
)
async def test_a_bad_limit_or_cursor_is_a_problem_naming_it(
    stack: Stack, params: dict[str, Any], field: str
) -> None:
    got = await stack.client.get("/metrics/fx-rates", params=params, headers=FINANCE)
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    problem = got.json()
    named = {e.get("field") for e in problem.get("errors") or []} | {problem.get("field")}
    assert field in named, problem
