"""One coalesced group of small deliveries stored in one transaction (coalesce.py queues
them): every signature checked, every delivery id claimed, every row upserted in one statement,
each delivery's answer and event stored, the answers being those the deliveries would have got
one after another."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.facts import restatement
from services.metrics.facts.callers import authenticate
from services.metrics.facts.ingest import (
    WEBHOOK_ROWS,
    DeliveryReused,
    Report,
    Unauthorized,
    _driver,
    meta_action_types,
)
from services.metrics.facts.rows import FactKey, MetaReport, facts
from services.metrics.facts.signatures import SignatureInvalid
from services.metrics.facts.sql import (
    ANSWERED_MANY,
    CLAIM_MANY,
    SEEN_MANY,
    SOURCES_SECRETS,
    UPSERT_MANY,
)
from services.metrics.models import outbox
from shared.contract.events.metrics import IngestionSummaryV1
from shared.kit.bus.outbox import Pending
from shared.kit.errors import DomainError, NotFound

Key = tuple[uuid.UUID, str, date, int, str]


class StorageUnavailable(DomainError):
    """The group could not be stored just now; nothing of it was."""

    status, slug, title = 503, "storage-unavailable", "Storage unavailable, retry later"


@dataclass(eq=False)
class Delivery:
    """One small delivery, validated, waiting for its group."""

    source_id: uuid.UUID
    headers: dict[str, str | None]
    body: bytes
    report: Report
    now: datetime
    correlation: str | None
    future: asyncio.Future[dict[str, Any]]
    body_hash: str = ""
    facts: dict[FactKey, Decimal] = field(default_factory=dict)

    @property
    def delivery_id(self) -> str:
        return str(self.headers.get("webhook-id"))

    @property
    def key(self) -> tuple[uuid.UUID, str]:
        return self.source_id, self.delivery_id

    @property
    def rows(self) -> int:
        return len(self.report.rows)


async def store(
    sessions: async_sessionmaker[AsyncSession], group: list[Delivery]
) -> list[dict[str, Any] | BaseException]:
    """One transaction for the group; each delivery's outcome, valid once it commits."""
    outcomes: list[dict[str, Any] | BaseException | None] = [None] * len(group)
    async with sessions() as session, session.begin():
        # Through SQLAlchemy first: that opens the transaction the raw statements run in.
        sources = {
            row["id"]: row
            for row in (
                await session.execute(
                    SOURCES_SECRETS, {"ids": list({item.source_id for item in group})}
                )
            ).mappings()
        }
        owners: dict[tuple[uuid.UUID, str], int] = {}
        for n, item in enumerate(group):
            failure = _check(item, sources.get(item.source_id))
            if failure is not None:
                outcomes[n] = failure
                continue
            item.body_hash = hashlib.sha256(item.body).hexdigest()
            owners.setdefault(item.key, n)
        if not owners:
            return [o if o is not None else _lost() for o in outcomes]
        raw = await _driver(session)
        claiming = [group[n] for n in owners.values()]
        claimed = {
            (r["source_id"], r["delivery_id"])
            for r in await raw.fetch(
                CLAIM_MANY,
                [i.source_id for i in claiming],
                [i.delivery_id for i in claiming],
                [i.body_hash for i in claiming],
            )
        }
        stored: dict[tuple[uuid.UUID, str], tuple[str, dict[str, Any] | None]] = {}
        earlier = [i for i in claiming if i.key not in claimed]
        if earlier:
            for r in await raw.fetch(
                SEEN_MANY, [i.source_id for i in earlier], [i.delivery_id for i in earlier]
            ):
                stored[(r["source_id"], r["delivery_id"])] = (r["body_hash"], r["response"])
        writers = [i for i in claiming if i.key in claimed]
        answers = await _write(session, raw, writers) if writers else {}
        for item in writers:
            stored[item.key] = (item.body_hash, answers[item.key])
        for n, item in enumerate(group):
            if outcomes[n] is not None:
                continue
            if item.key not in stored:
                outcomes[n] = _lost()
                continue
            body_hash, answer = stored[item.key]
            if body_hash != item.body_hash:
                outcomes[n] = DeliveryReused(
                    f"delivery {item.delivery_id} was already received with a different body",
                    field="webhook-id",
                    rule="delivery-id",
                )
            else:
                outcomes[n] = answer
    return [o if o is not None else _lost() for o in outcomes]


def _lost() -> StorageUnavailable:
    return StorageUnavailable("the delivery's first answer could not be read", retry_after=1)


def _check(item: Delivery, source: Mapping[Any, Any] | None) -> DomainError | None:
    """Why the delivery is refused before anything is written (no such source, bad signature
    or service token)."""
    if source is None:
        return NotFound(f"no metrics source {item.source_id}")
    try:
        authenticate(source, item.headers, item.body, item.now)
    except SignatureInvalid as exc:
        return Unauthorized(str(exc))
    except DomainError as exc:
        return exc
    return None


async def _write(
    session: AsyncSession, raw: Any, writers: list[Delivery]
) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    """Upsert the writers' rows in one statement; store their answers and events (in the
    writers' order, as they would have been recorded one after another)."""
    # Per key, the report that ends up stored when the deliveries are taken in arrival order:
    # the latest report time, the first to come on a tie (a fact changes only for a newer one).
    winner: dict[Key, tuple[datetime, int]] = {}
    rows: list[tuple[Key, Decimal, datetime, str, int]] = []
    meta = sorted({i.source_id for i in writers if isinstance(i.report, MetaReport)})
    preferences = await meta_action_types(raw, meta) if meta else {}
    for n, item in enumerate(writers):
        item.facts = facts(item.report, preferences.get(item.source_id))
        at = item.report.report_time
        for (entity, day, hour, metric), value in item.facts.items():
            key = (item.source_id, entity, day, hour, metric)
            best = winner.get(key)
            if restatement.restates(None if best is None else best[0], at):
                winner[key] = (at, n)
            rows.append((key, value, at, item.delivery_id, n))
    rows.sort(key=lambda r: (str(r[0][0]), r[0][1], r[0][2], r[0][3], r[0][4], r[4]))
    before = await raw.fetch(
        UPSERT_MANY,
        [r[0][0] for r in rows],
        [r[0][1] for r in rows],
        [r[0][2] for r in rows],
        [r[0][4] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [winner[r[0]][1] == r[4] for r in rows],
        [r[0][3] for r in rows],
    )
    state: dict[Key, datetime] = {
        (r["source_id"], r["entity"], r["day"], r["hour"], r["metric"]): r["reported_at"]
        for r in before
    }
    answers: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    events: list[Pending] = []
    for item in writers:
        at = item.report.report_time
        counts = {"inserted": 0, "revised": 0, "stale": 0}
        for entity, day, hour, metric in item.facts:
            key = (item.source_id, entity, day, hour, metric)
            happened = restatement.outcome(state.get(key), at)
            counts[happened] += 1
            if happened != "stale":
                state[key] = at
        inserted, revised, stale = counts["inserted"], counts["revised"], counts["stale"]
        WEBHOOK_ROWS.labels("accepted").inc(item.rows)
        days = sorted({k[1] for k in item.facts})
        answer = {
            "delivery_id": item.delivery_id,
            "rows": item.rows,
            "facts": len(item.facts),
            "inserted": inserted,
            "revised": revised,
            "ignored_stale": stale,
        }
        answers[item.key] = answer
        events.append(
            Pending(
                IngestionSummaryV1(
                    source_id=item.source_id,
                    delivery_id=item.delivery_id,
                    rows=item.rows,
                    facts_inserted=inserted,
                    facts_revised=revised,
                    facts_ignored_stale=stale,
                    first_day=days[0] if days else None,
                    last_day=days[-1] if days else None,
                ),
                str(item.source_id),
                item.correlation,
            )
        )
    await raw.execute(
        ANSWERED_MANY,
        [i.source_id for i in writers],
        [i.delivery_id for i in writers],
        [json.dumps(answers[i.key]) for i in writers],
    )
    await outbox.record_many(session, events)
    return answers
