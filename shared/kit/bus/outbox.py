"""Recording events in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contract.envelope import Envelope, EventPayload
from shared.kit.context import correlation_id

# Set on a session that recorded events, so whoever commits it can wake the relay.
DIRTY_FLAG = "outbox_dirty"


def notify_channel(table: Table) -> str:
    """The LISTEN/NOTIFY channel a service's relay waits on."""
    return f"outbox_{table.schema}"


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
        envelope = Envelope.wrap(
            payload, source=self.source, subject=subject, correlation_id=correlation_id.get()
        )
        await session.execute(
            insert(self.table).values(
                event_id=envelope.id,
                topic=payload.topic_name(),
                subject=subject,
                event_type=envelope.type,
                envelope=envelope.model_dump(mode="json"),
            )
        )
        if not session.info.get(DIRTY_FLAG):
            # NOTIFY is delivered on commit only, so a rolled-back event wakes nobody.
            await session.execute(select(func.pg_notify(self._channel, "")))
            session.info[DIRTY_FLAG] = True
        return envelope
