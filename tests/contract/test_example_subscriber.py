"""The subscriber example applies each event once and skips what it does not read."""

from __future__ import annotations

import json

from examples.subscriber import handle
from shared.contract.catalogue import example_envelope
from shared.contract.events.planning import PlanApprovedV1, PlanCreatedV1


def test_the_example_dedupes_on_id_and_skips_unread_types() -> None:
    seen: set[str] = set()
    approved = json.dumps(example_envelope(PlanApprovedV1)).encode()
    created = json.dumps(example_envelope(PlanCreatedV1)).encode()
    assert handle(approved, seen) == "applied"
    assert handle(approved, seen) == "duplicate"
    assert handle(created, set()) == "skipped"
