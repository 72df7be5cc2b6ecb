"""LISTEN on a PostgreSQL channel from a connection of its own: a commit elsewhere (in this
process or another) wakes whoever waits on it, NOTIFY being delivered on commit only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kit.aio import Backoff, wait_or_stop

log = logging.getLogger(__name__)


async def listen(
    engine: AsyncEngine, channel: str, heard: Callable[[str], None], stop: asyncio.Event
) -> None:
    """Call ``heard(payload)`` on every ``NOTIFY`` on ``channel`` until ``stop``; reconnect
    when the connection fails. ``heard("")`` is also called on each connect, for whatever was
    notified while nobody listened."""
    backoff = Backoff()
    while not stop.is_set():
        try:
            async with engine.connect() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                assert raw is not None  # noqa: S101 — an open connection has its driver connection

                def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
                    heard(payload)

                await raw.add_listener(channel, on_notify)
                try:
                    heard("")
                    backoff.reset()
                    while not stop.is_set():
                        await wait_or_stop(stop, 5.0)
                        # A dead connection is only noticed by using it; no transaction stays
                        # open, as notifications wait for the listener's transaction to end.
                        await conn.execute(text("SELECT 1"))
                        await conn.commit()
                finally:  # the pooled connection must not keep calling us for its next user
                    if not raw.is_closed():
                        await raw.remove_listener(channel, on_notify)
        except Exception:  # the connection died: the waiters' own timeouts cover the gap
            log.warning("listener on %s lost its connection", channel, exc_info=True)
            await wait_or_stop(stop, backoff.next())
