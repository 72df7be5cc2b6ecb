"""The webhook hot path: verify, dedupe the delivery, upsert facts in one statement, one event."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.facts.callers import authenticate
from services.metrics.facts.rows import (
    FORMATS,
    WHOLE_DAY,
    ActionTypes,
    CanonicalReport,
    MetaReport,
    OceanEngineReport,
    facts,
    validate_report,
)
from services.metrics.facts.signatures import SignatureInvalid
from services.metrics.facts.sql import (
    ANSWERED_AND_RECORDED,
    CLAIM,
    META_ACTION_TYPES,
    SEEN,
    SOURCE_SECRETS,
    UPSERT,
    UPSERT_WHOLE_DAYS,
)
from services.metrics.models import outbox
from shared.contract.events.metrics import IngestionSummaryV1
from shared.kit.bus.outbox import DIRTY_FLAG, Pending
from shared.kit.context import correlation_id
from shared.kit.errors import Conflict, DomainError, NotFound, RuleViolated
from shared.kit.runtime import ServiceRuntime

WEBHOOK_ROWS = Counter("webhook_rows_total", "Webhook rows received", ["outcome"])


Report = CanonicalReport | MetaReport | OceanEngineReport


def parse_report(body: bytes, now: datetime) -> Report | None:
    """The validated report, or None when the body does not hold one (``ingest`` then says
    why, after the signature and the delivery id are checked)."""
    try:
        return validate_report(body, now)
    except ValidationError:
        return None


async def meta_action_types(raw: Any, sources: list[uuid.UUID]) -> dict[uuid.UUID, ActionTypes]:
    """The sources' own preference orders of Meta action types (those that set one)."""
    rows = await raw.fetch(META_ACTION_TYPES, sources)
    return {r["id"]: r["meta_action_types"] for r in rows}


def _refusal(error: Any) -> dict[str, Any]:
    field = ".".join(str(p) for p in error["loc"])
    message = error["msg"]
    if error["type"] == "union_tag_not_found":
        # The body names no format: say what may be sent rather than pydantic's tag talk.
        field = field or "format"
        message = (
            f"name the batch's format ({FORMATS}), or post Meta's Insights response "
            'as Meta returns it: {"data": [...], "paging": {...}}'
        )
    return {"field": field, "message": message, "code": error["type"]}


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
    report: Report | None = None,
) -> dict[str, Any]:
    """Store a signed (or, for an internal source, token-bearing) batch whole or not at all; a
    redelivery gets the first answer.

    The statements run on the raw asyncpg connection of the request's transaction: the ORM's
    per-statement overhead is most of the cost at a thousand rows a request. (SQLAlchemy's pool
    has given the connection its JSON codecs: jsonb arrives as Python objects, leaves as text.)
    """
    # Through SQLAlchemy first: that opens the request's transaction (BEGIN), which the raw
    # statements below then run inside; raw statements alone would each commit on their own.
    source = (await session.execute(SOURCE_SECRETS, {"id": source_id})).mappings().first()
    if source is None:
        raise NotFound(f"no metrics source {source_id}")
    try:
        authenticate(source, headers, body, now)
    except SignatureInvalid as exc:
        raise Unauthorized(str(exc)) from exc
    delivery_id = str(headers["webhook-id"])
    body_hash = hashlib.sha256(body).hexdigest()
    raw = await _driver(session)
    if not await raw.fetchval(CLAIM, source_id, delivery_id, body_hash):
        seen = await raw.fetchrow(SEEN, source_id, delivery_id)
        if seen["body_hash"] != body_hash:
            raise DeliveryReused(
                f"delivery {delivery_id} was already received with a different body",
                field="webhook-id",
                rule="delivery-id",
            )
        answer: dict[str, Any] = seen["response"]
        return answer
    try:
        report = report if report is not None else validate_report(body, now)
    except ValidationError as exc:
        WEBHOOK_ROWS.labels("rejected").inc(_declared_rows(body))
        raise RuleViolated(
            f"the batch was refused: {exc.error_count()} invalid value(s); nothing was stored",
            rule="valid-batch",
            errors=[_refusal(e) for e in exc.errors(include_url=False)[:200]],
        ) from exc
    preference = None
    if isinstance(report, MetaReport):
        preference = (await meta_action_types(raw, [source_id])).get(source_id)
    batch = facts(report, preference)
    keys = list(batch)
    hours = [k[2] for k in keys]
    by_hour = any(hour != WHOLE_DAY for hour in hours)
    counts = await raw.fetchrow(
        UPSERT if by_hour else UPSERT_WHOLE_DAYS,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[3] for k in keys],
        [str(value) for value in batch.values()],
        source_id,
        report.report_time,
        delivery_id,
        *([hours] if by_hour else []),
    )
    WEBHOOK_ROWS.labels("accepted").inc(len(report.rows))
    days = sorted({k[1] for k in keys})
    response = {
        "delivery_id": delivery_id,
        "rows": len(report.rows),
        "facts": len(batch),
        "inserted": counts["inserted"],
        "revised": counts["changed"] - counts["inserted"],
        "ignored_stale": len(keys) - counts["changed"],
    }
    summary = IngestionSummaryV1(
        source_id=source_id,
        delivery_id=delivery_id,
        rows=len(report.rows),
        facts_inserted=response["inserted"],
        facts_revised=response["revised"],
        facts_ignored_stale=response["ignored_stale"],
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
    )
    await raw.execute(
        ANSWERED_AND_RECORDED,
        source_id,
        delivery_id,
        json.dumps(response),
        *outbox.values(session, Pending(summary, str(source_id), correlation_id.get())),
    )
    return response


async def ingest_alone(
    runtime: ServiceRuntime,
    source_id: uuid.UUID,
    headers: dict[str, str | None],
    body: bytes,
    now: datetime,
    report: Report | None = None,
) -> dict[str, Any]:
    """``ingest`` in a transaction of its own, committed before the answer is returned (as the
    request's Session dependency would; without its cost on the coalesced path)."""
    async with runtime.sessions() as session:
        async with session.begin():
            answer = await ingest(session, source_id, headers, body, now, report)
        if session.info.get(DIRTY_FLAG):
            runtime.relay.wake()
    return answer


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None  # noqa: S101 — an open connection has its driver connection
    return raw


def _declared_rows(body: bytes) -> int:
    """How many rows a refused batch carried (1 when it is not even JSON)."""
    try:
        rows = json.loads(body).get("rows")
    except (ValueError, AttributeError, RecursionError):  # nesting past the parser's depth
        return 1
    return len(rows) if isinstance(rows, list) else 1
