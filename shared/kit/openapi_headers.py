"""The paging and creation headers in the OpenAPI document, where a client generator sees them.

Every page (a body with ``next_cursor``) answers an RFC 8288 ``Link: <…>; rel="next"`` while there
is a next page; every ``201 Created`` answers a ``Location`` naming what it made.
"""

from __future__ import annotations

from typing import Any

LINK = {
    "description": 'the next page with the same filters, as `<url>; rel="next"` (RFC 8288); '
    "absent on the last page",
    "schema": {"type": "string"},
}
LOCATION = {"description": "the path of what was created", "schema": {"type": "string"}}


def _is_page(document: dict[str, Any], response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return "next_cursor" in schema.get("properties", {})


def describe_headers(document: dict[str, Any]) -> dict[str, Any]:
    """Declare ``Link`` on every page answer and ``Location`` on every 201, in place."""
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            responses = operation.get("responses", {})
            if method == "get" and "200" in responses and _is_page(document, responses["200"]):
                responses["200"].setdefault("headers", {})["Link"] = LINK
            if "201" in responses:
                responses["201"].setdefault("headers", {})["Location"] = LOCATION
    return document
