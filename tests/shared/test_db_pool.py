"""The pool never hands out a connection the server has closed (restart, terminated backend),
without paying a ping per request."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kit import db
from tests.polling import eventually


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pid: int) -> None:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(libpq)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def gone() -> bool:
            alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = $1"
            return bool(await admin.fetchval(alive, pid) == 0)

        await eventually(gone)
    finally:
        await admin.close()


async def test_a_connection_the_server_closed_is_replaced_not_handed_out(database_url: str) -> None:
    engine = db.create_engine(database_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        await _terminate(database_url, first)

        # The client notices the closed socket in the background; until then a checkout could
        # still see it open, so the probe is the next request itself: it must never fail.
        async def replaced() -> int | None:
            pid = await _backend_pid(engine)
            return pid if pid != first else None

        assert await eventually(replaced) != first
    finally:
        await engine.dispose()


async def test_an_idle_connection_is_pinged_and_replaced_when_dead(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.create_engine(database_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", -1.0)  # every checkout counts as idle
        await _terminate(database_url, first)
        assert await _backend_pid(engine) != first  # the first request after it succeeds
    finally:
        await engine.dispose()
