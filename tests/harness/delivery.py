"""Delivering another service's event to a handler through the inbox, as a consumer would.

A consumer hands each record to its inbox; a redelivered record (a broker retry, a rewind after
a crash) arrives with the same envelope id. ``deliver`` does what the consumer does, ``times``
times, and returns the inbox's outcomes, so a test states "applied once, then a duplicate"
without a running consumer or any polling.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.contract.envelope import Envelope, EventPayload
from shared.kit.bus.inbox import Inbox
from shared.kit.runtime import ServiceRuntime
from shared.kit.settings import Settings
from tests.harness.apps import BY_NAME


@asynccontextmanager
async def service_runtime(
    name: str, settings: Settings, database_url: str
) -> AsyncIterator[ServiceRuntime]:
    """One service's runtime, not started: its sessions and inboxes, no loops."""
    runtime = ServiceRuntime(BY_NAME[name], settings, database_url, consumers=False)
    try:
        yield runtime
    finally:
        await runtime.engine.dispose()


def inbox_for(runtime: ServiceRuntime, event_type: str) -> Inbox:
    """The runtime's inbox that subscribes to this event type."""
    for inbox in runtime.inboxes.values():
        if event_type in inbox.subscriber.event_types:
            return inbox
    raise AssertionError(f"{runtime.definition.name} does not subscribe to {event_type}")


def envelope_of(payload: EventPayload, subject: str, source: str | None = None) -> Envelope:
    """The envelope the publishing service would put on the bus for this payload."""
    return Envelope.wrap(
        payload, source=source or payload.event_type.split(".")[0], subject=subject
    )


async def deliver(
    runtime: ServiceRuntime,
    payload: EventPayload,
    subject: str,
    *,
    times: int = 2,
    envelope: Envelope | None = None,
) -> list[str]:
    """Hand one envelope to the subscribing inbox ``times`` times (default: twice, as a
    redelivery does); the outcomes in order, e.g. ``["applied", "duplicate"]``."""
    wrapped = envelope or envelope_of(payload, subject)
    raw = wrapped.model_dump_json().encode()
    inbox = inbox_for(runtime, wrapped.type)
    return [await inbox.receive(raw) for _ in range(times)]
