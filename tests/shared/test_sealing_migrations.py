"""The migrations seal secrets that earlier versions stored in plain text."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from allinone.app import DEFINITIONS
from shared.kit import migrations
from shared.kit.db import create_engine
from shared.kit.secrets import secret_box

PLAIN = "whsec_c2VjcmV0LWJlZm9yZS10aGUtbWlncmF0aW9uIQ=="


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    """A database no migration has run on."""
    name = f"cp_seal_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_libpq(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _migrate(url: str, service: str, target: str) -> None:
    definition = next(d for d in DEFINITIONS if d.name == service)
    engine = create_engine(url)
    try:
        await migrations.upgrade(engine, service, definition.migrations_dir, target)
    finally:
        await engine.dispose()


async def _sql(url: str, query: str) -> str | None:
    connection = await asyncpg.connect(_libpq(url))
    try:
        result: str | None = await connection.fetchval(query)
        return result
    finally:
        await connection.close()


async def test_a_sources_plain_secret_is_sealed_by_the_migration(empty_database_url: str) -> None:
    url = empty_database_url
    await _migrate(url, "metrics", "427ff8a4fcc3")  # the last version with plain secrets
    secrets = [
        {"id": "a1", "secret": PLAIN, "active": True, "created_at": "2024-06-01T00:00:00Z"},
        {"id": "b2", "secret": PLAIN + "x", "active": False, "created_at": "2024-06-02T00:00:00Z"},
    ]
    await _sql(
        url,
        "INSERT INTO metrics.sources (id, name, platform, account_id, timezone, currency,"
        " settlement_days, secrets) VALUES ('00000000-0000-0000-0000-000000000001', 'meta',"
        f" 'meta', 'act_1', 'Asia/Shanghai', 'CNY', 28, '{json.dumps(secrets)}')",
    )
    await _migrate(url, "metrics", "head")
    row = await _sql(url, "SELECT secrets::text FROM metrics.sources")
    assert row is not None
    assert PLAIN not in row
    stored = json.loads(row)
    assert [(s["id"], s["active"], "secret" in s) for s in stored] == [
        ("a1", True, False),
        ("b2", False, False),
    ]
    assert [secret_box().open(s["sealed"]) for s in stored] == [PLAIN, PLAIN + "x"]


async def test_a_channels_plain_secret_is_sealed_by_the_migration(empty_database_url: str) -> None:
    url = empty_database_url
    await _migrate(url, "alerts", "c1225753d2a6")  # the last version with plain secrets
    await _sql(
        url,
        "INSERT INTO alerts.channels (id, url, secret, escalation_level, group_by,"
        " group_wait_seconds, group_interval_seconds)"
        f" VALUES ('ops', 'http://ops.test/hook', '{PLAIN}', 0, '[\"plan_id\"]', 30, 300)",
    )
    await _migrate(url, "alerts", "head")
    row = await _sql(url, "SELECT row_to_json(c)::text FROM alerts.channels AS c")
    assert row is not None
    assert PLAIN not in row
    assert secret_box().open(json.loads(row)["sealed_secret"]) == PLAIN
