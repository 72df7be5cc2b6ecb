"""Periodic background jobs of a service (reminders, cut-offs, evaluations, SLA checks).

Each run is one transaction. Replicas may run the same job at the same time: a job makes its
effect exactly-once with its own unique keys (e.g. one reminder per task and day), so the
runner needs no leader. The clock is injected so tests drive time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.kit.aio import wait_or_stop

if TYPE_CHECKING:
    from shared.kit.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
JobBody = Callable[[AsyncSession, datetime, "Settings"], Awaitable[None]]


def utc_now() -> datetime:
    """The system clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class PeriodicJob:
    """A function run every ``interval_seconds`` in its own transaction.

    A job with a ``wake_channel`` also runs as soon as a commit sends ``NOTIFY`` on that channel
    (the data it works on changed), at most once per ``min_interval_seconds``; its interval is
    then only the safety net for a lost notification."""

    name: str
    body: JobBody
    interval_seconds: float = 60.0
    wake_channel: str | None = None
    min_interval_seconds: float = 0.0

    async def run_once(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        now: datetime,
    ) -> None:
        """One run, committed when the body returns."""
        async with sessions() as session, session.begin():
            await self.body(session, now, settings)

    async def run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        stop: asyncio.Event,
        *,
        clock: Clock = utc_now,
        after_commit: Callable[[], None] = lambda: None,
        wake: asyncio.Event | None = None,
    ) -> None:
        """Run until ``stop``; a failing run is logged and retried at the next tick. ``wake``
        (set by ``shared.kit.listen`` on the job's channel) starts the next run early."""
        while not stop.is_set():
            if wake is not None:
                wake.clear()  # before the run: a commit landing during it wakes the next one
            try:
                await self.run_once(sessions, settings, clock())
                after_commit()
            except Exception:  # a job failure must not kill the service; it runs again next tick
                log.exception("job %s failed", self.name)
            if wake is not None and self.min_interval_seconds:
                # A burst of commits is taken by one run, not one run each.
                await wait_or_stop(stop, self.min_interval_seconds)
            await wait_or_stop(stop, self.interval_seconds, wake)
