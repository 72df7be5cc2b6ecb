"""The published event catalogue matches the code, and breaking changes are caught."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from shared.contract.catalogue import (
    DEFAULT_DIR,
    asyncapi,
    compatibility_report,
    differences,
    main,
    write,
)
from shared.contract.envelope import EventPayload
from shared.contract.events import CATALOGUE


def test_the_checked_in_catalogue_is_what_the_code_generates() -> None:
    stale = differences(DEFAULT_DIR, list(CATALOGUE))
    assert stale == [], f"run `make docs`: {stale}"


def test_every_event_version_has_a_schema_and_a_message_with_a_valid_example() -> None:
    document = json.loads((DEFAULT_DIR / "asyncapi.json").read_text())
    messages = document["components"]["messages"]
    for payload in CATALOGUE:
        name = f"{payload.event_type}.v{payload.event_version}"
        assert (DEFAULT_DIR / "schemas" / f"{name}.json").exists()
        message = messages[name.replace(".", "_")]
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        example = json.dumps(message["examples"][0]["payload"])
        envelope, decoded = CATALOGUE.decode(example)
        assert type(decoded) is payload
        assert envelope.type == payload.event_type


def test_every_topic_is_a_channel_addressed_by_its_name() -> None:
    document = asyncapi(list(CATALOGUE))
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {p.topic_name() for p in CATALOGUE}
    assert document["asyncapi"] == "3.0.0"


class WidgetShippedV1(EventPayload):
    event_type = "demo.widget.shipped"
    event_version = 1

    widget_id: uuid.UUID
    count: int
    note: str | None = None


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A catalogue in which WidgetShippedV1 has been published."""
    write(tmp_path, [WidgetShippedV1])
    return tmp_path


def test_removing_a_field_of_a_published_version_fails_and_asks_for_a_new_version(
    published: Path,
) -> None:
    class Removed(EventPayload):
        event_type = "demo.widget.shipped"
        event_version = 1

        widget_id: uuid.UUID
        note: str | None = None

    report = compatibility_report(published, [Removed])
    assert len(report) == 1
    assert "field 'count' was removed" in report[0]
    assert "add Removed2 with event_version = 2" in report[0]


def test_retyping_or_newly_requiring_a_field_fails(published: Path) -> None:
    class Retyped(EventPayload):
        event_type = "demo.widget.shipped"
        event_version = 1

        widget_id: uuid.UUID
        count: str
        note: str

    report = compatibility_report(published, [Retyped])
    assert any("field 'count' changed type" in line for line in report)
    assert any("field 'note' became required" in line for line in report)


def test_an_additive_optional_field_is_compatible(published: Path) -> None:
    class Grown(EventPayload):
        event_type = "demo.widget.shipped"
        event_version = 1

        widget_id: uuid.UUID
        count: int
        note: str | None = None
        carrier: str | None = None

    assert compatibility_report(published, [Grown]) == []


def test_the_check_command_fails_on_a_stale_catalogue(published: Path) -> None:
    (published / "schemas" / "demo.widget.shipped.v1.json").unlink()
    assert main(["check", "--dir", str(published)]) == 1
    assert main(["check", "--dir", str(DEFAULT_DIR)]) == 0
