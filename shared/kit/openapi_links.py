"""OpenAPI links from each create operation to the operations on what it created.

A POST on a collection (``/plans``, ``/plans/{plan_id}/tasks``) answers with the new
resource; every operation taking that resource's id in its path (``{plan_id}``,
``{task_id}``) can follow. Declaring those links lets a client, or schemathesis' stateful
phase, chain create → read → update → act without guessing ids.
"""

from __future__ import annotations

import re
from typing import Any

_PARAMETER = re.compile(r"\{([^}]+)\}")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _noun(path: str) -> str | None:
    """The singular of the collection a POST on ``path`` adds to (``plans`` → ``plan``)."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if _PARAMETER.fullmatch(last) or not last.endswith("s"):
        return None
    return last[:-1].replace("-", "_")


def _id_pointer(document: dict[str, Any], schema: dict[str, Any], noun: str) -> str | None:
    """Where the created resource's id sits in the answer (``/id`` or ``/plan/id``)."""
    properties = _resolve(document, schema).get("properties", {})
    if "id" in properties:
        return "/id"
    for name in (noun, noun.rsplit("_", 1)[-1]):
        if name in properties and "id" in _resolve(document, properties[name]).get(
            "properties", {}
        ):
            return f"/{name}/id"
    return None


def _created(operation: dict[str, Any]) -> dict[str, Any] | None:
    for status in ("201", "200"):
        content = operation.get("responses", {}).get(status, {}).get("content", {})
        if "application/json" in content:
            schema: dict[str, Any] = content["application/json"].get("schema", {})
            return schema
    return None


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    """Add create → follow-up links to ``document`` in place, and return it."""
    operations = [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    for path, method, operation in operations:
        noun = _noun(path) if method == "post" else None
        schema = _created(operation) if noun else None
        pointer = _id_pointer(document, schema, noun) if noun and schema else None
        if not noun or not pointer:
            continue
        known = set(_PARAMETER.findall(path))
        links: dict[str, Any] = {}
        for target_path, _method, target in operations:
            wanted = _PARAMETER.findall(target_path)
            created = [p for p in wanted if p == f"{noun}_id" or p.endswith(f"_{noun}_id")]
            created = created or [p for p in wanted if p == f"{noun.rsplit('_', 1)[-1]}_id"]
            if len(created) != 1 or not set(wanted) - set(created) <= known:
                continue
            parameters = {created[0]: f"$response.body#{pointer}"}
            parameters |= {p: f"$request.path.{p}" for p in wanted if p != created[0]}
            links[target["operationId"]] = {
                "operationId": target["operationId"],
                "parameters": parameters,
            }
        status = "201" if "201" in operation["responses"] else "200"
        if links:
            operation["responses"][status]["links"] = links
    return document
