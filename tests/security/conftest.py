"""One migrated database and one running all-in-one stack per security test module.

The security matrices send hundreds of requests that change nothing (they are refused, or fail
validation on an unknown id), so a module shares one stack instead of paying a fresh database
and five service start-ups per test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from allinone.app import PrefixDispatcher, create_allinone_app
from shared.kit.settings import BusKind, Settings
from tests.harness.databases import TEMPLATE


@dataclass(frozen=True)
class Stack:
    """The running all-in-one app, a client on it, and a client per service app."""

    dispatcher: PrefixDispatcher
    root: FastAPI
    client: httpx.AsyncClient
    services: dict[str, httpx.AsyncClient]
    database_url: str


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
async def stack_database_url(server_url: str, template_url: str) -> AsyncIterator[str]:
    """A copy of the migrated template shared by one test module."""
    name = f"cp_sec_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_libpq(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def stack(stack_database_url: str) -> AsyncIterator[Stack]:
    """Every service running on the module's database, with HTTP clients on them."""
    settings = Settings(
        database_url=stack_database_url,
        bus=BusKind.EMBEDDED,
        relay_idle_poll_seconds=0.05,
        consumer_max_attempts=3,
        jobs_enabled=False,
        # These suites fire hundreds of writes a second from one token on purpose.
        rate_limit_writes="100000/second",
    )
    dispatcher, root = create_allinone_app(settings, database_url=stack_database_url)
    async with root.router.lifespan_context(root):
        clients = {
            name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
            for name, app in dispatcher.services.items()
        }
        transport = httpx.ASGITransport(app=dispatcher)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            try:
                yield Stack(dispatcher, root, http, clients, stack_database_url)
            finally:
                for each in clients.values():
                    await each.aclose()
