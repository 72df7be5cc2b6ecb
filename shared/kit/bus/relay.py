"""The outbox relay: publishes committed events in order per subject, at least once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, Text, cast, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.kit.aio import Backoff, wait_or_stop
from shared.kit.bus.outbox import notify_channel
from shared.kit.bus.transport import Message, Publisher, TransportUnavailable
from shared.kit.faults import RELAY_AFTER_MARK, RELAY_AFTER_PUBLISH, fault_point
from shared.kit.locks import advisory_key
from shared.kit.observability import OUTBOX_PUBLISHED, RELAY_FAILURES

log = logging.getLogger(__name__)


class Relay:
    """Moves a service's outbox rows to the transport.

    One relay per service is active at a time (a session advisory lock), because
    concurrent relays could publish one subject's events out of order.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        publisher: Publisher,
        *,
        topic_prefix: str = "",
        batch_size: int = 500,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.publisher = publisher
        self.topic_prefix = topic_prefix
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.service = outbox.schema or "public"
        self.lock_key = advisory_key(f"relay:{self.service}")
        self.healthy = True
        self.listening = asyncio.Event()  # set while this relay holds the lock and listens
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Nudge the relay: something was just committed to the outbox."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows in id order and mark them sent; return the count.

        The claim and the mark share one transaction: a crash between publishing and
        committing leaves the rows pending, so they are published again (at least once).
        """
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        self.outbox.c.id,
                        self.outbox.c.topic,
                        self.outbox.c.subject,
                        # As PostgreSQL prints it: decoding the JSON only to encode it again
                        # was a third of the relay's time.
                        cast(self.outbox.c.envelope, Text).label("envelope"),
                    )
                    .where(self.outbox.c.sent_at.is_(None))
                    .order_by(self.outbox.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self.publisher.publish(self._messages(rows))
            fault_point(RELAY_AFTER_PUBLISH)
            await conn.execute(
                update(self.outbox)
                .where(self.outbox.c.id.in_([row.id for row in rows]))
                .values(sent_at=text("now()"))
            )
            fault_point(RELAY_AFTER_MARK)
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    def _messages(self, rows: Sequence[Any]) -> list[Message]:
        # The envelope was validated when recorded; the stored JSON is sent as it is.
        return [
            Message(
                topic=f"{self.topic_prefix}{row.topic}",
                key=row.subject,
                value=row.envelope.encode(),
            )
            for row in rows
        ]

    async def drain(self) -> int:
        """Publish until nothing is pending; return how many were published."""
        total = 0
        while count := await self.publish_pending():
            total += count
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Hold the relay lock and publish until stopped; standby while another replica holds it."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                async with self.engine.connect() as lock_conn:
                    if await self._try_lock(lock_conn):
                        try:
                            await self._serve(lock_conn, stop, backoff)
                        finally:
                            await self._unlock(lock_conn)
            except Exception:  # the lock connection died: take it again after a pause
                log.exception("relay %s lost its lock connection", self.service)
            await wait_or_stop(stop, self.idle_poll_seconds)

    async def _serve(
        self, lock_conn: AsyncConnection, stop: asyncio.Event, backoff: Backoff
    ) -> None:
        raw = (await lock_conn.get_raw_connection()).driver_connection
        assert raw is not None, "an open connection has a driver connection"  # noqa: S101
        channel = notify_channel(self.outbox)
        await raw.add_listener(channel, self._on_notify)
        self.listening.set()
        try:
            while not stop.is_set():
                # Cleared before draining, so a commit that lands mid-drain still wakes us.
                self._wake.clear()
                try:
                    published = await self.drain()
                    self.healthy = True
                    backoff.reset()
                except TransportUnavailable as exc:
                    self.healthy = False
                    RELAY_FAILURES.labels(self.service).inc()
                    log.warning("relay %s: transport unavailable, retrying: %s", self.service, exc)
                    await wait_or_stop(stop, backoff.next())
                    continue
                if not published:
                    await wait_or_stop(stop, self.idle_poll_seconds, self._wake)
                # The lock is only ours while its connection lives; check before the next batch,
                # and end the check's transaction: NOTIFY waits for a listener's transaction.
                await lock_conn.execute(text("SELECT 1"))
                await lock_conn.commit()
        finally:
            self.listening.clear()
            await raw.remove_listener(channel, self._on_notify)

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _try_lock(self, conn: AsyncConnection) -> bool:
        result = await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_key})
        await conn.commit()
        return bool(result.scalar())

    async def _unlock(self, conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.lock_key})
        await conn.commit()
