"""Generated clients get readable, stable method names: camelCase operationIds, unique per
service, and every operation filed under a tag."""

from __future__ import annotations

import re

import pytest

from allinone.app import DEFINITIONS
from shared.kit.app import create_service_app
from shared.kit.runtime import ServiceDefinition
from shared.kit.settings import Settings


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_operation_ids_are_readable_unique_and_tagged(definition: ServiceDefinition) -> None:
    app = create_service_app(definition, settings=Settings(), database_url="postgresql://x/y")
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
    ]
    ids = [operation["operationId"] for _, operation in operations]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i) for i in ids), ids
    assert [where for where, operation in operations if not operation.get("tags")] == []


def test_names_read_as_a_frontend_developer_would_write_them() -> None:
    planning = next(d for d in DEFINITIONS if d.name == "planning")
    app = create_service_app(planning, settings=Settings(), database_url="postgresql://x/y")
    paths = app.openapi()["paths"]
    assert paths["/planning/plans"]["post"]["operationId"] == "createPlan"
    assert paths["/planning/plans"]["get"]["operationId"] == "listPlans"
