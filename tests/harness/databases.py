"""One migrated template database per test process, and a cheap fresh copy of it per test.

A copy is made with CREATE DATABASE … TEMPLATE (a few hundred milliseconds). Dropping it costs as
much again and nothing waits on it, so drops run in the background on the server while the next
test runs; the session waits for them at its end.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
from sqlalchemy.engine import make_url

from allinone.app import DEFINITIONS
from shared.kit import migrations
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.db import create_engine

# One per test process: pytest-xdist workers build their own template side by side.
TEMPLATE = f"cp_template_{os.getpid()}"
# Background drops at once; more would only queue on the server's disk.
DROPS_AT_ONCE = 2


def libpq(url: str) -> str:
    """The URL as asyncpg wants it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    """The same server, another database."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def build_template(server_url: str) -> str:
    """Create the template database with every service's real migrations and the bus log."""
    admin = await asyncpg.connect(libpq(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    url = with_database(server_url, TEMPLATE)
    engine = create_engine(url)
    try:
        for definition in DEFINITIONS:
            await migrations.upgrade(engine, definition.name, definition.migrations_dir)
        await EmbeddedTransport(engine).ensure_schema()
    finally:
        await engine.dispose()
    return url


class DatabaseCopies:
    """Hands out fresh copies of the template and drops used ones in the background."""

    def __init__(self, server_url: str, prefix: str = "cp_test") -> None:
        self.server_url = server_url
        self.prefix = prefix
        self._drops: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(DROPS_AT_ONCE)

    async def create(self) -> str:
        """A new database holding the migrated schema and nothing else; its URL."""
        name = f"{self.prefix}_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(libpq(self.server_url))
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        finally:
            await admin.close()
        return with_database(self.server_url, name)

    def release(self, url: str) -> None:
        """Drop the copy later; the caller has closed every connection it opened."""
        task = asyncio.get_running_loop().create_task(self._drop(make_url(url).database or ""))
        self._drops.add(task)
        task.add_done_callback(self._drops.discard)

    async def _drop(self, name: str) -> None:
        async with self._limit:
            admin = await asyncpg.connect(libpq(self.server_url))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

    async def settle(self) -> None:
        """Wait for every pending drop (at the end of the session)."""
        if self._drops:
            await asyncio.gather(*self._drops)


async def drop_template(server_url: str) -> None:
    admin = await asyncpg.connect(libpq(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    finally:
        await admin.close()
