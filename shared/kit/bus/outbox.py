"""Recording events in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contract.envelope import Envelope, EventPayload
from shared.kit.context import correlation_id

# Set on a session that recorded events, so whoever commits it can wake the relay.
DIRTY_FLAG = "outbox_dirty"
# Up to this many events are written in one multi-row VALUES with the NOTIFY (5 parameters a
# row, far below PostgreSQL's 32,767); larger batches go through executemany.
ONE_STATEMENT_ROWS = 100


def notify_channel(table: Table) -> str:
    """The LISTEN/NOTIFY channel a service's relay waits on."""
    return f"outbox_{table.schema}"


class Pending(NamedTuple):
    """An event to record, with the correlation id of the request it belongs to (a batch
    recorded away from its requests cannot read theirs from the context)."""

    payload: EventPayload
    subject: str
    correlation_id: str | None


class Outbox:
    """Writes events into a service's outbox table, inside the caller's transaction."""

    def __init__(self, table: Table, *, source: str) -> None:
        self.table = table
        self.source = source
        self._channel = notify_channel(table)

    async def record(
        self, session: AsyncSession, payload: EventPayload, *, subject: str
    ) -> Envelope:
        """Add one event; it is published only if the caller's transaction commits."""
        (envelope,) = await self.record_many(
            session, [Pending(payload, subject, correlation_id.get())]
        )
        return envelope

    async def record_many(self, session: AsyncSession, events: Sequence[Pending]) -> list[Envelope]:
        """Add events in one statement, in this order (the relay publishes them so); they are
        published only if the caller's transaction commits."""
        envelopes = [self.envelope(e) for e in events]
        if not envelopes:
            return envelopes
        rows: list[dict[str, Any]] = [
            {
                "event_id": envelope.id,
                "topic": event.payload.topic_name(),
                "subject": event.subject,
                "event_type": envelope.type,
                "envelope": envelope.model_dump(mode="json"),
            }
            for event, envelope in zip(events, envelopes, strict=True)
        ]
        # NOTIFY is delivered on commit only, so a rolled-back event wakes nobody.
        notify = select(func.pg_notify(self._channel, ""))
        if session.info.get(DIRTY_FLAG):
            await session.execute(insert(self.table), rows)
        elif len(rows) <= ONE_STATEMENT_ROWS:
            # A request's few events and the relay's wake-up in one round trip: the INSERT
            # runs as a data-modifying CTE of the NOTIFY.
            recorded = insert(self.table).values(rows).cte("recorded")
            await session.execute(notify.add_cte(recorded))
        else:
            await session.execute(insert(self.table), rows)
            await session.execute(notify)
        session.info[DIRTY_FLAG] = True
        return envelopes

    def envelope(self, event: Pending) -> Envelope:
        """The envelope an event is recorded in."""
        return Envelope.wrap(
            event.payload,
            source=self.source,
            subject=event.subject,
            correlation_id=event.correlation_id,
        )

    def values(self, session: AsyncSession, event: Pending) -> list[Any]:
        """One outbox row's values (event_id, topic, subject, event_type, envelope as JSON text),
        for a hot path that writes the row and its NOTIFY in a statement of its own (the metrics
        webhook's ``ANSWERED_AND_RECORDED``); the session is marked so its committer wakes the
        relay."""
        envelope = self.envelope(event)
        session.info[DIRTY_FLAG] = True
        return [
            envelope.id,
            event.payload.topic_name(),
            event.subject,
            envelope.type,
            envelope.model_dump_json(),
        ]
