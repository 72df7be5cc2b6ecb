"""The restatement rule, "the newer report wins", is one rule: the upsert's SQL fragment and the
Python function the coalesced path replays agree on every case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.facts import restatement
from services.metrics.facts.sql import NEWER_REPORT_WINS
from services.metrics.models import Source

INCOMING = datetime(2024, 6, 10, 12, tzinfo=UTC)
# What is stored for the key when a report made at INCOMING arrives (None: nothing yet).
STORED = [None, INCOMING - timedelta(hours=1), INCOMING, INCOMING + timedelta(hours=1)]
UPSERT = text(
    "INSERT INTO metrics.facts AS f"
    " (source_id, entity, day, hour, metric, value, reported_at, plan_id, channel_id)"
    " VALUES (:source, :entity, '2024-06-09', -1, 'clicks', :value, :at, NULL, NULL)"
    + NEWER_REPORT_WINS
)
VALUE = text(
    "SELECT value FROM metrics.facts WHERE source_id = :source AND entity = :entity"
    " AND day = '2024-06-09' AND hour = -1 AND metric = 'clicks'"
)


def test_only_a_newer_report_restates_a_fact() -> None:
    assert [restatement.restates(s, INCOMING) for s in STORED] == [True, True, False, False]
    assert [restatement.outcome(s, INCOMING) for s in STORED] == [
        "inserted",
        "revised",
        "stale",
        "stale",
    ]


async def test_the_sql_fragment_and_the_python_rule_agree(engine: AsyncEngine) -> None:
    source = uuid.uuid4()
    taken_in_sql = []
    async with engine.begin() as conn:
        await conn.execute(
            insert(Source).values(
                id=source,
                name="restated",
                platform="meta",
                account_id="a-1",
                timezone="UTC",
                currency="CNY",
                settlement_days=28,
                secrets=[],
            )
        )
        for n, stored in enumerate(STORED):
            key = {"source": source, "entity": f"e-{n}"}
            if stored is not None:
                await conn.execute(UPSERT, {**key, "value": Decimal(1), "at": stored})
            await conn.execute(UPSERT, {**key, "value": Decimal(2), "at": INCOMING})
            taken_in_sql.append((await conn.execute(VALUE, key)).scalar_one() == 2)
    assert taken_in_sql == [restatement.restates(s, INCOMING) for s in STORED]
    assert taken_in_sql == [True, True, False, False]
