"""Every request body a client sends has an example in the OpenAPI document (Swagger UI's "Try
it out" starts from it, generated docs show it), and the example is valid against the body's
own schema; every operation carries a resource tag."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema_rs
import pytest

from allinone.app import DEFINITIONS
from shared.kit.app import create_service_app
from shared.kit.settings import Settings

WRITES = ("post", "put", "patch")
_REF = re.compile(r"#/components/schemas/([\w.-]+)")


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    settings = Settings()
    return {d.name: create_service_app(d, settings=settings).openapi() for d in DEFINITIONS}


def _body_schemas(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The named schemas a body is made of: itself, or its items for a list, or the one model
    in an optional body."""
    if "$ref" in schema:
        return [_REF.fullmatch(schema["$ref"]).group(1)]  # type: ignore[union-attr]
    if schema.get("type") == "array":
        return _body_schemas(document, schema["items"])
    members = [m for m in schema.get("anyOf", []) if m.get("type") != "null"]
    return [name for member in members for name in _body_schemas(document, member)]


def _bodies(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if method in WRITES and body is not None:
                for name in _body_schemas(document, body["schema"]):
                    found.append((f"{method.upper()} {path}", name))
    return found


def _findings(document: dict[str, Any]) -> tuple[list[str], list[str], int]:
    """Bodies without an example, examples their schema refuses, and how many were checked."""
    components = document["components"]
    missing, invalid, checked = [], [], 0
    for operation, name in _bodies(document):
        schema = components["schemas"][name]
        examples = schema.get("examples") or []
        if not examples:
            missing.append(f"{operation}: {name}")
        validator = jsonschema_rs.validator_for({**schema, "components": components})
        for example in examples:
            checked += 1
            if errors := [str(e) for e in validator.iter_errors(example)]:
                invalid.append(f"{operation}: {name}: {errors}")
    return missing, invalid, checked


def test_every_json_body_has_an_example_valid_against_its_schema(
    documents: dict[str, dict[str, Any]],
) -> None:
    findings = [_findings(document) for document in documents.values()]
    assert [m for missing, _, _ in findings for m in missing] == []
    assert [i for _, invalid, _ in findings for i in invalid] == []
    assert sum(checked for _, _, checked in findings) >= 45


def test_a_missing_or_wrong_example_is_caught(documents: dict[str, dict[str, Any]]) -> None:
    document = copy.deepcopy(documents["planning"])
    schemas = document["components"]["schemas"]
    del schemas["PlanCreate"]["examples"]
    schemas["PhaseIn"]["examples"][0]["starts_on"] = 20240501
    missing, invalid, _ = _findings(document)
    assert missing == ["POST /planning/plans: PlanCreate"]
    assert [i.split(": ")[:2] for i in invalid] == [
        ["PUT /planning/plans/{plan_id}/phases", "PhaseIn"]
    ]


def test_every_operation_is_tagged_by_its_resource(documents: dict[str, dict[str, Any]]) -> None:
    tags: dict[str, set[str]] = {}
    for service, document in documents.items():
        for operations in document["paths"].values():
            for operation in operations.values():
                (tag,) = operation["tags"]
                tags.setdefault(service, set()).add(tag)
        assert {t["name"] for t in document["tags"]} == tags[service]
    assert {"fraud flags", "kpis", "rollups", "sources", "dictionary"} <= tags["metrics"]
    assert {"rules", "alerts", "silences", "channels"} <= tags["alerts"]
    assert {"requests", "inbox", "workflows", "delegations"} <= tags["approvals"]
    assert {"tasks", "templates"} <= tags["tasks"]
    assert "plans" in tags["planning"]
