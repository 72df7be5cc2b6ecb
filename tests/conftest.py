"""Real PostgreSQL for every test: TEST_DATABASE_URL, or a throw-away embedded server.

The schema is built once by the real migrations into a template database; each test gets
its own copy (CREATE DATABASE … TEMPLATE), so tests whose code commits stay isolated.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from allinone.app import DEFINITIONS, create_allinone_app
from shared.contract.types import Role
from shared.kit import migrations
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.db import create_engine
from shared.kit.embedded_pg import start_server, stop_server
from shared.kit.settings import BusKind, Settings
from shared.kit.tokens import mint_token
from tests.kafka_broker import KafkaBroker, configured_broker, started_broker

TEMPLATE = f"cp_template_{os.getpid()}"
_BROKER_USED: list[KafkaBroker] = []


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server we may create databases on."""
    if configured := os.environ.get("TEST_DATABASE_URL"):
        yield configured
        return
    data_dir = Path(tempfile.mkdtemp(prefix="cp-test-pg-"))
    try:
        yield start_server(data_dir, cleanup_mode="delete")
    finally:
        stop_server(data_dir)  # stops the server, then deletes its data folder


async def _admin(server: str) -> asyncpg.Connection:
    return await asyncpg.connect(_libpq(server))


@pytest.fixture(scope="session")
async def template_url(server_url: str) -> AsyncIterator[str]:
    """A database migrated by every service's real migrations, plus the embedded bus log."""
    admin = await _admin(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    url = _with_database(server_url, TEMPLATE)
    engine = create_engine(url)
    for definition in DEFINITIONS:
        await migrations.upgrade(engine, definition.name, definition.migrations_dir)
    await EmbeddedTransport(engine).ensure_schema()
    await engine.dispose()
    yield url
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def database_url(server_url: str, template_url: str) -> AsyncIterator[str]:
    """A fresh copy of the migrated template for this test alone."""
    name = f"cp_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        yield _with_database(server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for a test: its own database, the embedded bus, quick polling."""
    return Settings(
        database_url=database_url,
        bus=BusKind.EMBEDDED,
        relay_idle_poll_seconds=0.05,
        consumer_max_attempts=3,
        jobs_enabled=False,  # tests run jobs themselves with a fixed clock
    )


def bearer(role: Role, subject: str | None = None) -> dict[str, str]:
    """Authorization header for a development token with one role."""
    token = mint_token(subject or f"test-{role.value}", [role], Settings())
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client on the all-in-one app, with every service's relay and consumers running."""
    app, root = create_allinone_app(settings, database_url=database_url)
    async with root.router.lifespan_context(root):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A real Kafka-protocol broker: KAFKA_BOOTSTRAP_SERVERS, or a Tansu started for this run."""
    if configured := configured_broker():
        _BROKER_USED.append(configured)
        yield configured
        return
    for broker in started_broker():
        _BROKER_USED.append(broker)
        yield broker


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many Kafka-marked tests ran, and against which broker, so a skip cannot hide."""
    counts = {
        outcome: sum(1 for r in terminalreporter.stats.get(outcome, []) if "kafka" in r.keywords)
        for outcome in ("passed", "failed", "error", "skipped")
    }
    if not any(counts.values()):
        return
    where = _BROKER_USED[0].describe() if _BROKER_USED else "no broker"
    terminalreporter.write_line(
        f"Kafka-marked tests against {where}: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['error']} errors, {counts['skipped']} skipped"
    )
