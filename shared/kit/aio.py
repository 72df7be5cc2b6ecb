"""Small asyncio helpers for background loops: backoff and interruptible waits."""

from __future__ import annotations

import asyncio


class Backoff:
    """Exponential delay between retries, reset after a success."""

    def __init__(self, first: float = 0.05, ceiling: float = 30.0) -> None:
        self.first, self.ceiling, self.current = first, ceiling, first

    def next(self) -> float:
        """The delay to wait now; doubles each call up to the ceiling."""
        delay, self.current = self.current, min(self.current * 2, self.ceiling)
        return delay

    def reset(self) -> None:
        """Start again from the first delay."""
        self.current = self.first


async def wait_or_stop(
    stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None
) -> None:
    """Wait until ``seconds`` pass, ``stop`` is set, or ``wake`` (if given) is set."""
    events = [stop] if wake is None else [stop, wake]
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
