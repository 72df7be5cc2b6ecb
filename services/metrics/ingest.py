"""The webhook hot path: verify, dedupe the delivery, upsert facts in one statement, one event."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import SERVICE
from services.metrics.models import Delivery, DirtyDay, Mapping, Source, bus
from services.metrics.rows import REPORT, facts
from services.metrics.signatures import SignatureInvalid, verify
from shared.contract.events.metrics import IngestionSummaryV1
from shared.kit.bus.outbox import Outbox
from shared.kit.errors import Conflict, DomainError, NotFound, RuleViolated

outbox = Outbox(bus.outbox, source=SERVICE)
WEBHOOK_ROWS = Counter("webhook_rows_total", "Webhook rows received", ["outcome"])

# Newer reports replace; an older report arriving late changes nothing. Every value received
# goes to the revisions table, so the as-of history is complete either way.
UPSERT = """
WITH incoming AS (
    SELECT * FROM unnest(
        $1::text[], $2::date[], $3::text[], $4::numeric[], $5::uuid[], $6::uuid[]
    ) AS t(entity, day, metric, value, plan_id, channel_id)
), revisions AS (
    INSERT INTO metrics.fact_revisions
        (source_id, entity, day, metric, value, reported_at, delivery_id)
    SELECT $7, entity, day, metric, value, $8, $9 FROM incoming
)
INSERT INTO metrics.facts AS f
    (source_id, entity, day, metric, value, reported_at, plan_id, channel_id)
SELECT $7, entity, day, metric, value, $8, plan_id, channel_id FROM incoming
ON CONFLICT (source_id, entity, day, metric) DO UPDATE
    SET value = EXCLUDED.value, reported_at = EXCLUDED.reported_at,
        plan_id = EXCLUDED.plan_id, channel_id = EXCLUDED.channel_id
    WHERE f.reported_at < EXCLUDED.reported_at
RETURNING (xmax = 0) AS inserted
"""


class Unauthorized(DomainError):
    """The webhook's signature or timestamp does not hold."""

    status, slug, title = 401, "invalid-signature", "Invalid webhook signature"


class DeliveryReused(Conflict):
    """A delivery id came back with a different body."""

    slug = "delivery-id-reused"


async def ingest(
    session: AsyncSession,
    source_id: uuid.UUID,
    headers: dict[str, str | None],
    body: bytes,
    now: datetime,
) -> dict[str, Any]:
    """Store a signed batch whole or not at all; a redelivery gets the first answer."""
    source = await session.get(Source, source_id)
    if source is None:
        raise NotFound(f"no metrics source {source_id}")
    try:
        verify(
            [s["secret"] for s in source.secrets if s.get("active")],
            delivery_id=headers.get("webhook-id"),
            timestamp=headers.get("webhook-timestamp"),
            signature=headers.get("webhook-signature"),
            body=body,
            now=now,
        )
    except SignatureInvalid as exc:
        raise Unauthorized(str(exc)) from exc
    delivery_id = str(headers["webhook-id"])
    body_hash = hashlib.sha256(body).hexdigest()
    claimed = await session.execute(
        insert(Delivery)
        .values(source_id=source.id, delivery_id=delivery_id, body_hash=body_hash, response={})
        .on_conflict_do_nothing()
        .returning(Delivery.delivery_id)
    )
    if claimed.first() is None:
        seen = await session.get(Delivery, (source.id, delivery_id))
        assert seen is not None  # noqa: S101 — the conflict says it exists
        if seen.body_hash != body_hash:
            raise DeliveryReused(
                f"delivery {delivery_id} was already received with a different body",
                field="webhook-id",
                rule="delivery-id",
            )
        return seen.response
    try:
        report = REPORT.validate_json(body)
    except ValidationError as exc:
        WEBHOOK_ROWS.labels("rejected").inc(_declared_rows(body))
        raise RuleViolated(
            f"the batch was refused: {exc.error_count()} invalid value(s); nothing was stored",
            rule="valid-batch",
            errors=[
                {
                    "field": ".".join(str(p) for p in e["loc"]),
                    "message": e["msg"],
                    "code": e["type"],
                }
                for e in exc.errors(include_url=False)[:200]
            ],
        ) from exc
    batch = facts(report)
    mappings = {
        m.entity: m
        for m in await session.scalars(
            select(Mapping).where(
                Mapping.source_id == source.id, Mapping.entity.in_({k[0] for k in batch})
            )
        )
    }
    counts = await _upsert(session, source.id, delivery_id, report.report_time, batch, mappings)
    WEBHOOK_ROWS.labels("accepted").inc(len(report.rows))
    days = sorted({k[1] for k in batch})
    response = {
        "delivery_id": delivery_id,
        "rows": len(report.rows),
        "facts": len(batch),
        **counts,
    }
    await session.execute(
        Delivery.__table__.update()  # type: ignore[attr-defined]
        .where(Delivery.source_id == source.id, Delivery.delivery_id == delivery_id)
        .values(response=response)
    )
    await _mark_dirty(session, batch, mappings)
    await outbox.record(
        session,
        IngestionSummaryV1(
            source_id=source.id,
            delivery_id=delivery_id,
            rows=len(report.rows),
            facts_inserted=counts["inserted"],
            facts_revised=counts["revised"],
            facts_ignored_stale=counts["ignored_stale"],
            first_day=days[0] if days else None,
            last_day=days[-1] if days else None,
        ),
        subject=str(source.id),
    )
    return response


def _declared_rows(body: bytes) -> int:
    """How many rows a refused batch carried (1 when it is not even JSON)."""
    try:
        rows = json.loads(body).get("rows")
    except (ValueError, AttributeError):
        return 1
    return len(rows) if isinstance(rows, list) else 1


async def _upsert(
    session: AsyncSession,
    source_id: uuid.UUID,
    delivery_id: str,
    reported_at: datetime,
    batch: dict[tuple[Any, Any, str], Decimal],
    mappings: dict[str, Mapping],
) -> dict[str, int]:
    """One statement on the raw asyncpg connection of this transaction: no ORM per row."""
    keys = list(batch)
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None  # noqa: S101 — an open connection has its driver connection
    rows = await raw.fetch(
        UPSERT,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [batch[k] for k in keys],
        [mappings[k[0]].plan_id if k[0] in mappings else None for k in keys],
        [mappings[k[0]].channel_id if k[0] in mappings else None for k in keys],
        source_id,
        reported_at,
        delivery_id,
    )
    inserted = sum(1 for r in rows if r["inserted"])
    return {
        "inserted": inserted,
        "revised": len(rows) - inserted,
        "ignored_stale": len(keys) - len(rows),
    }


async def _mark_dirty(
    session: AsyncSession, batch: dict[tuple[Any, Any, str], Decimal], mappings: dict[str, Mapping]
) -> None:
    """Remember which plan/channel/days changed; a job publishes their snapshots, coalesced."""
    dirty: dict[tuple[uuid.UUID, str, Any], None] = defaultdict(lambda: None)
    for entity, day, _metric in batch:
        mapping = mappings.get(entity)
        if mapping is not None:
            dirty[(mapping.plan_id, str(mapping.channel_id or "plan"), day)] = None
            dirty[(mapping.plan_id, "plan", day)] = None
    if dirty:
        await session.execute(
            insert(DirtyDay)
            .values([{"plan_id": p, "channel_key": c, "day": d} for p, c, d in dirty])
            .on_conflict_do_nothing()
        )
