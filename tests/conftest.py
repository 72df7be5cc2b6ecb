"""Real PostgreSQL for every test: TEST_DATABASE_URL, or a throw-away embedded server.

The schema is built once per test process by the real migrations into a template database; each
test gets its own copy (CREATE DATABASE … TEMPLATE), so tests whose code commits stay isolated.

Apps, fastest first: ``<service>_client`` runs one service with its consumers off (a test about
its routes); ``client`` runs the all-in-one system with every relay and consumer (a test about
services talking to each other; the stories in tests/e2e). See tests/harness/. State a test starts
from is built on ``sessions`` by tests/harness/factories, through the services' own functions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.types import Role
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.embedded_pg import start_server, stop_server
from shared.kit.settings import BusKind, Settings
from shared.kit.tokens import mint_token
from tests.harness.apps import all_in_one, one_service
from tests.harness.databases import TEMPLATE, DatabaseCopies, build_template, drop_template
from tests.kafka_broker import KafkaBroker, configured_broker, started_broker

__all__ = ["TEMPLATE", "bearer"]

_BROKER_USED: list[KafkaBroker] = []
BROKER_PROPERTY = "kafka_broker"


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


@pytest.fixture(scope="session")
async def database_copies(server_url: str) -> AsyncIterator[DatabaseCopies]:
    """Fresh copies of the template, dropped in the background once a test is done."""
    copies = DatabaseCopies(server_url)
    yield copies
    await copies.settle()


@pytest.fixture(scope="session")
async def template_url(server_url: str, database_copies: DatabaseCopies) -> AsyncIterator[str]:
    """A database migrated by every service's real migrations, plus the embedded bus log."""
    url = await build_template(server_url)
    yield url
    await database_copies.settle()
    await drop_template(server_url)


@pytest.fixture
async def database_url(template_url: str, database_copies: DatabaseCopies) -> AsyncIterator[str]:
    """A fresh copy of the migrated template for this test alone."""
    url = await database_copies.create()
    yield url
    database_copies.release(url)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for a test: its own database, the embedded bus, quick polling."""
    return Settings(
        database_url=database_url,
        bus=BusKind.EMBEDDED,
        relay_idle_poll_seconds=0.05,
        consumer_max_attempts=3,
        jobs_enabled=False,  # tests run jobs themselves with a fixed clock
        migrate_on_start=False,  # the template is migrated; checking again cost ~0.7 s a test
    )


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on this test's database: what a factory (tests/harness/factories) builds with."""
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def bearer(role: Role, subject: str | None = None) -> dict[str, str]:
    """Authorization header for a development token with one role."""
    token = mint_token(subject or f"test-{role.value}", [role], Settings())
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client on the all-in-one app, with every service's relay and consumers running.

    It asks for English, the language the suite's expected texts are written in; a test of the
    company's default language sends an empty Accept-Language."""
    async with all_in_one(settings, database_url) as (_dispatcher, _root, http):
        yield http


def _one_service_client(name: str) -> Callable[..., AsyncIterator[httpx.AsyncClient]]:
    async def fixture(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
        async with one_service(name, settings, database_url) as (_app, http):
            yield http

    fixture.__doc__ = f"HTTP client on the {name} service alone: its relay runs, no consumers."
    return fixture


planning_client = pytest.fixture(_one_service_client("planning"), name="planning_client")
tasks_client = pytest.fixture(_one_service_client("tasks"), name="tasks_client")
metrics_client = pytest.fixture(_one_service_client("metrics"), name="metrics_client")
alerts_client = pytest.fixture(_one_service_client("alerts"), name="alerts_client")
approvals_client = pytest.fixture(_one_service_client("approvals"), name="approvals_client")


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    """Name the broker on a Kafka test's report: with pytest-xdist the summary is written by
    the controller, which never held the broker fixture."""
    outcome = yield
    report = outcome.get_result()
    if _BROKER_USED and "kafka" in item.keywords:
        report.user_properties.append((BROKER_PROPERTY, _BROKER_USED[0].describe()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many Kafka-marked tests ran, and against which broker, so a skip cannot hide."""
    counts = {
        outcome: sum(1 for r in terminalreporter.stats.get(outcome, []) if "kafka" in r.keywords)
        for outcome in ("passed", "failed", "error", "skipped")
    }
    if not any(counts.values()):
        return
    brokers = sorted(
        {
            str(value)
            for outcome in counts
            for r in terminalreporter.stats.get(outcome, [])
            for key, value in getattr(r, "user_properties", ())
            if key == BROKER_PROPERTY
        }
    )
    where = "; ".join(brokers) or "no broker"
    terminalreporter.write_line(
        f"Kafka-marked tests against {where}: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['error']} errors, {counts['skipped']} skipped"
    )
