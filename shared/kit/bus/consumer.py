"""The consumer loop: fetch, apply through the inbox, commit offsets only after the effects."""

from __future__ import annotations

import asyncio
import logging

from shared.kit.aio import Backoff, wait_or_stop
from shared.kit.bus.inbox import Inbox, InfrastructureError
from shared.kit.bus.transport import Subscription, TransportUnavailable
from shared.kit.faults import CONSUMER_AFTER_EFFECT, CONSUMER_MID_BATCH, fault_point

log = logging.getLogger(__name__)


class ConsumerLoop:
    """Drives one subscription through one inbox until stopped."""

    def __init__(
        self,
        subscription: Subscription,
        inbox: Inbox,
        *,
        max_records: int = 100,
        fetch_timeout_seconds: float = 0.5,
    ) -> None:
        self.subscription = subscription
        self.inbox = inbox
        self.max_records = max_records
        self.fetch_timeout_seconds = fetch_timeout_seconds
        self.healthy = False

    async def poll_once(self) -> int:
        """Fetch one batch, apply each record, then commit; return how many were fetched."""
        records = await self.subscription.fetch(self.max_records, self.fetch_timeout_seconds)
        for record in records:
            await self.inbox.receive(record.value)
            fault_point(CONSUMER_MID_BATCH)
        if records:
            fault_point(CONSUMER_AFTER_EFFECT)
            await self.subscription.commit()
        return len(records)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until stopped; on a broker or database failure, rewind and retry with backoff."""
        backoff = Backoff()
        started = False
        while not stop.is_set():
            try:
                if not started:
                    await self.subscription.start()
                    started = True
                await self.poll_once()
                self.healthy = True
                backoff.reset()
            except (TransportUnavailable, InfrastructureError) as exc:
                self.healthy = False
                log.warning("consumer %s: %s; retrying", self.inbox.consumer, exc)
                if started:
                    started = await self._rewind()
                await wait_or_stop(stop, backoff.next())
        if started:
            await self.subscription.stop()

    async def _rewind(self) -> bool:
        """Back to the committed position; if even that fails, leave the group and rejoin later,
        because fetching on from an unknown position could skip uncommitted records."""
        try:
            await self.subscription.rewind()
            return True
        except TransportUnavailable as exc:
            log.warning("consumer %s: rewind failed, rejoining: %s", self.inbox.consumer, exc)
        try:
            await self.subscription.stop()
        except TransportUnavailable as exc:
            log.warning("consumer %s: leaving the group failed: %s", self.inbox.consumer, exc)
        return False
