"""Another service's event applied through this service's own handlers, as state to start from.

A service learns plans, targets and snapshots only from events. A factory building such state
calls the handlers the service subscribed to that event type (all of them, as the consumers
would, each consumer running one), in one transaction, without the inbox's bookkeeping: the
inbox's once-only delivery is what tests/harness/delivery.py is for.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.envelope import Envelope, EventPayload
from tests.harness.apps import BY_NAME


async def handled(
    sessions: async_sessionmaker[AsyncSession],
    service: str,
    payload: EventPayload,
    subject: str,
    *,
    time: datetime | None = None,
) -> Envelope:
    """Apply ``payload`` through every ``service`` handler subscribed to its type; its envelope
    (sent at ``time``, else now)."""
    envelope = Envelope.wrap(
        payload, source=payload.event_type.split(".")[0], subject=subject, time=time
    )
    handlers = [
        s.handler for s in BY_NAME[service].subscribers if payload.event_type in s.event_types
    ]
    if not handlers:
        raise AssertionError(f"{service} does not subscribe to {payload.event_type}")
    async with sessions() as session, session.begin():
        for handler in handlers:
            await handler(payload, envelope, session)
    return envelope
