"""OWASP API3:2023 Broken Object Property Level Authorization (mass assignment): the schemas.

Every input model refuses unknown fields (``Strict``: extra="forbid"), so a client cannot set a
server-owned property (status, approver, version, timestamps, ids …) by adding it to a body.
Two of the three layers are checked here, generated rather than hand-listed where possible (the
third, over HTTP, is test_property_level_http):

1. OpenAPI: every object schema reachable from a POST/PUT/PATCH body says
   ``additionalProperties: false``, and a body property whose *name* is server-owned is either
   explicitly justified in ``DECLARED_ON_PURPOSE`` or the test fails.
2. Pydantic: every ``Strict`` model in ``services/*/schemas.py`` rejects each server-owned name
   it does not declare with ``extra_forbidden``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Final

import pytest
from pydantic import BaseModel, ValidationError

from allinone.app import DEFINITIONS
from tests.security.conftest import Stack
from tests.security.server_owned import DECLARED_ON_PURPOSE, SERVER_OWNED, resolve

WRITE_METHODS: Final = ("post", "put", "patch")


def _objects(
    spec: dict[str, Any], schema: dict[str, Any], seen: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named or inline object schema reachable from ``schema``."""
    name, schema = resolve(spec, schema)
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
