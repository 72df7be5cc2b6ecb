"""The OpenAPI document as client generators read it: one tag per resource, distinct model names.

Generators (openapi-python-client, openapi-typescript, Swagger UI's grouping) turn tags into
modules or sections and schema titles into class names. A service router carries one tag for
the whole service; here each operation is tagged with the resource it acts on instead, and a
schema FastAPI split into ``X-Input`` and ``X-Output`` gets a title of its own for each half,
where both would otherwise generate a class named ``X``.
"""

from __future__ import annotations

import re
from typing import Any

_PARAMETER = re.compile(r"\{[^}]+\}")
# Tags a router chose on purpose (operations of the kit) are kept.
KEPT_TAGS = frozenset({"ops", "dead letters"})
_SPLIT = re.compile(r"^(?P<name>.+)-(?P<half>Input|Output)$")


def resource_tag(service: str, path: str) -> str:
    """The resource a path acts on: its first collection after the service prefix.

    A service's own resources nested under a plan (``/metrics/plans/{plan_id}/kpis``) are
    tagged by the nested collection (``kpis``), since the plan itself belongs to planning.
    Formats (``evaluation.html``) and hyphens (``fraud-flags``) do not make other tags.
    """
    segments = path.removeprefix(f"/{service}/").split("/")
    tag = segments[0]
    nested = len(segments) > 2 and segments[0] == "plans" and _PARAMETER.fullmatch(segments[1])
    if nested and service != "planning" and not _PARAMETER.fullmatch(segments[2]):
        tag = segments[2]
    return tag.split(".", 1)[0].replace("-", " ")


def for_clients(document: dict[str, Any], service: str) -> dict[str, Any]:
    """Tag every operation by resource and retitle split schemas (the document, changed)."""
    used: set[str] = set()
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if KEPT_TAGS.intersection(operation.get("tags") or []):
                used.update(operation["tags"])
                continue
            operation["tags"] = [resource_tag(service, path)]
            used.add(operation["tags"][0])
    document["tags"] = [{"name": tag} for tag in sorted(used)]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        if (split := _SPLIT.match(name)) and isinstance(schema, dict):
            schema["title"] = split["name"] + split["half"]
    return document
