"""Is the broker there? A watch that asks it regularly, for /readyz.

A Kafka client waiting on an idle topic or holding an idle producer does not notice that the
broker is gone: aiokafka's fetch returns empty batches and nothing is published, so no error
ever reaches the relay or the consumers. The watch asks a question that must be answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from shared.kit.aio import wait_or_stop
from shared.kit.bus.transport import Publisher, TransportUnavailable

log = logging.getLogger(__name__)

# Probes per readiness window: one lost answer alone never turns readiness false.
PROBES_PER_WINDOW = 3


class BrokerWatch:
    """Probes the broker through the publisher; unhealthy after ``timeout_seconds`` of silence."""

    def __init__(
        self,
        publisher: Publisher,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publisher = publisher
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self.last_answer = clock()

    @property
    def healthy(self) -> bool:
        """True when the broker answered within the last ``timeout_seconds``."""
        return self.clock() - self.last_answer <= self.timeout_seconds

    async def check(self) -> bool:
        """Probe once; remember when the broker last answered."""
        interval = self.timeout_seconds / PROBES_PER_WINDOW
        try:
            await self.publisher.probe(interval)
        except TransportUnavailable as exc:
            log.warning("broker did not answer: %s", exc)
            return False
        self.last_answer = self.clock()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Probe every third of the timeout until stopped."""
        self.last_answer = self.clock()  # the publisher has just connected
        while not stop.is_set():
            await self.check()
            await wait_or_stop(stop, self.timeout_seconds / PROBES_PER_WINDOW)
