"""The published event catalogue: JSON Schema per event version and an AsyncAPI 3 document.

``python -m shared.contract.catalogue write`` regenerates ``docs/events/``; ``check`` fails when
the checked-in catalogue differs from the code, and first on a breaking change to an existing
event version (a field removed, retyped or newly required), telling the author to add a version.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.contract.envelope import Envelope, EventPayload
from shared.contract.events import CATALOGUE

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "docs" / "events"
SAMPLE_UUID = "0b9f7f63-3c1e-4f6a-9a43-5d0c2b7e8a11"
SAMPLE_VALUES = {"date": "2024-06-07", "date-time": "2024-06-07T09:00:00Z", "uuid": SAMPLE_UUID}


def schema_file(payload: type[EventPayload]) -> str:
    """The catalogue file name of one event version."""
    return f"{payload.event_type}.v{payload.event_version}.json"


def event_schema(payload: type[EventPayload]) -> dict[str, Any]:
    """The JSON Schema of an event's ``data`` as it appears on the wire."""
    schema = payload.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:campaign-placement:event:{payload.event_type}:v{payload.event_version}"
    schema["x-event-type"] = payload.event_type
    schema["x-event-version"] = payload.event_version
    schema["x-topic"] = payload.topic_name()
    return schema


def example_for(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A value that satisfies a (pydantic-generated) JSON Schema, for the documentation."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example_for(root["$defs"][name], root)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return example_for(options[0], root) if options else None
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        if not properties:
            return {"key": "value"} if schema.get("additionalProperties") else {}
        return {name: example_for(sub, root) for name, sub in properties.items()}
    if kind == "array":
        return [example_for(schema.get("items", {}), root)]
    if kind == "string":
        if "pattern" in schema and "A-Z" in schema["pattern"]:
            return "CNY"
        return SAMPLE_VALUES.get(schema.get("format", ""), "text")
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return None


def example_envelope(payload: type[EventPayload]) -> dict[str, Any]:
    """A full envelope example for one event version, valid against its payload model."""
    # Examples come from the input schema, where decimals may be numbers.
    data = payload.model_validate(example_for(payload.model_json_schema()))
    envelope = Envelope.wrap(
        data,
        source=payload.event_type.split(".")[0],
        subject=SAMPLE_UUID,
        correlation_id="req-7f3a",
        time=datetime(2024, 6, 7, 9, 0, tzinfo=UTC),
    )
    example: dict[str, Any] = envelope.model_copy(update={"id": uuid.UUID(SAMPLE_UUID)}).model_dump(
        mode="json"
    )
    return example


def asyncapi(payloads: Iterable[type[EventPayload]]) -> dict[str, Any]:
    """An AsyncAPI 3.0 document: one channel per topic, one message per event version."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for payload in sorted(payloads, key=lambda p: (p.event_type, p.event_version)):
        topic = payload.topic_name()
        name = f"{payload.event_type}.v{payload.event_version}"
        message_id = name.replace(".", "_")
        messages[message_id] = {
            "name": name,
            "title": payload.__name__,
            "summary": (payload.__doc__ or payload.__name__).strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {"type": "object", "properties": {"data": {"$ref": f"schemas/{name}.json"}}},
                ]
            },
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": "the envelope's subject"},
                    "bindingVersion": "0.5.0",
                }
            },
            "examples": [{"name": "example", "payload": example_envelope(payload)}],
        }
        channel_id = topic.replace(".", "_")
        channel = channels.setdefault(
            channel_id,
            {
                "address": topic,
                "description": f"Events of {topic}; the Kafka key is the aggregate id "
                "(the envelope's subject), so one aggregate's events stay in order.",
                "messages": {},
            },
        )
        channel["messages"][message_id] = {"$ref": f"#/components/messages/{message_id}"}
        operation = operations.setdefault(
            f"publish_{channel_id}",
            {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "summary": f"The {topic.split('.')[0]} service publishes these.",
                "messages": [],
            },
        )
        operation["messages"].append({"$ref": f"#/channels/{channel_id}/messages/{message_id}"})
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Campaign placement events",
            "version": "1.0.0",
            "description": "Every event the five services publish. Delivery is at least once: "
            "deduplicate on the envelope's id. Topics may carry a deployment prefix.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {"Envelope": Envelope.model_json_schema(mode="serialization")},
            "messages": messages,
        },
    }


def render(payloads: Iterable[type[EventPayload]]) -> dict[str, str]:
    """Every catalogue file, by relative path, as the text to check in."""
    payloads = list(payloads)
    files = {f"schemas/{schema_file(p)}": _dump(event_schema(p)) for p in payloads}
    files["asyncapi.json"] = _dump(asyncapi(payloads))
    return files


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a new schema of the same event version breaks for existing readers and writers."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for field, old_schema in old_props.items():
        if field not in new_props:
            problems.append(f"field {field!r} was removed")
        elif _resolved(new_props[field], new) != _resolved(old_schema, old):
            problems.append(f"field {field!r} changed type")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    problems += [f"field {f!r} became required" for f in sorted(newly_required)]
    return problems


def _resolved(schema: Any, root: dict[str, Any]) -> Any:
    """A schema with local $refs inlined, so a renamed definition is not a false alarm."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolved(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root)
        return {
            k: _resolved(v, root)
            for k, v in schema.items()
            if k not in ("title", "description", "default", "examples")
        }
    if isinstance(schema, list):
        return [_resolved(item, root) for item in schema]
    return schema


def compatibility_report(directory: Path, payloads: Iterable[type[EventPayload]]) -> list[str]:
    """One line per breaking change between the checked-in schemas and the code."""
    report: list[str] = []
    for payload in payloads:
        path = directory / "schemas" / schema_file(payload)
        if not path.exists():
            continue
        problems = breaking_changes(json.loads(path.read_text()), event_schema(payload))
        for problem in problems:
            report.append(
                f"{payload.event_type} v{payload.event_version}: {problem}. Published versions "
                f"are frozen: add {payload.__name__.rstrip('0123456789')}"
                f"{payload.event_version + 1} with event_version = {payload.event_version + 1} "
                "and keep this one readable for the deprecation window."
            )
    return report


def differences(directory: Path, payloads: Iterable[type[EventPayload]]) -> list[str]:
    """Files that are missing, stale or no longer produced under ``directory``."""
    expected = render(payloads)
    found = {
        str(p.relative_to(directory)): p.read_text()
        for p in directory.rglob("*.json")
        if p.is_file()
    }
    stale = [path for path, text in expected.items() if found.get(path) != text]
    extra = [path for path in found if path not in expected]
    return sorted(stale) + [f"{path} (no longer produced)" for path in sorted(extra)]


def write(directory: Path, payloads: Iterable[type[EventPayload]]) -> None:
    """Regenerate the catalogue files (removing those of events that no longer exist)."""
    files = render(payloads)
    for path in directory.rglob("*.json"):
        if str(path.relative_to(directory)) not in files:
            path.unlink()
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """``write`` or ``check`` the catalogue."""
    parser = argparse.ArgumentParser(prog="python -m shared.contract.catalogue")
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    payloads = list(CATALOGUE)
    breaking = compatibility_report(args.dir, payloads)
    if breaking:
        print("Breaking change to a published event version:", *breaking, sep="\n  ")
        return 1
    if args.command == "write":
        write(args.dir, payloads)
        print(f"wrote {len(payloads)} event schemas and asyncapi.json to {args.dir}")
        return 0
    stale = differences(args.dir, payloads)
    if stale:
        print("docs/events is out of date; run `make docs`:", *stale, sep="\n  ")
        return 1
    print(f"event catalogue up to date ({len(payloads)} event versions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
