"""Small webhook deliveries, coalesced in process: many requests, one transaction.

A delivery of at most ``SMALL_ROWS`` rows is validated in its request, then queued here. The
flusher takes the queue every ``FLUSH_SECONDS`` (or sooner, once ``FLUSH_ROWS`` rows wait) and
stores the whole group in ONE transaction: it checks every signature against the sources'
secrets, claims every delivery id, upserts every row in one statement, stores each delivery's
answer and records one IngestionSummaryV1 per delivery, commits, and only then answers each
waiting request. The answers are those the deliveries would have got one after another in
arrival order: a key reported twice in the group keeps the later report (on a tie, the first),
and each delivery's inserted/revised/stale counts are worked out against the facts as they were
before the group. A redelivery (same id, same body) gets the stored answer, a reused id with
another body a 409, inside the group as against earlier groups.

A failure that passes (a lock or statement timeout, a lost connection) fails every waiting
request with a 503 and stores nothing; any other failure retries each delivery in a transaction
of its own, so one delivery the database refuses does not sink the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from prometheus_client import Counter, Histogram
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import SERVICE
from services.metrics.callers import authenticate
from services.metrics.ingest import (
    MARK_DIRTY,
    WEBHOOK_ROWS,
    DeliveryReused,
    Report,
    Unauthorized,
    _driver,
    meta_action_types,
    outbox,
)
from services.metrics.rows import FactKey, MetaReport, facts
from services.metrics.signatures import SignatureInvalid
from shared.contract.envelope import Envelope
from shared.contract.events.metrics import IngestionSummaryV1
from shared.kit.bus.outbox import notify_channel
from shared.kit.context import correlation_id
from shared.kit.errors import TRANSIENT_SQLSTATES, DomainError, NotFound

log = logging.getLogger(__name__)

SMALL_ROWS = 50  # a delivery with at most this many rows is coalesced
FLUSH_SECONDS = 0.005  # the longest a delivery waits for its group to start
FLUSH_ROWS = 500  # a group starts at once when this many rows wait
MAX_FLUSHES = 1  # groups stored at once (2 measured no faster on 2 cores; 1 never races itself)
MAX_QUEUED_ROWS = 20_000  # past this, shed load: 503 and let the platform retry

FLUSHES = Counter("webhook_coalesced_flushes_total", "Coalesced webhook groups", ["outcome"])
FLUSH_TIME = Histogram(
    "webhook_coalesced_flush_seconds",
    "Time to store one coalesced group",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1),
)
GROUP_SIZE = Histogram(
    "webhook_coalesced_group_deliveries",
    "Deliveries per coalesced group",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)

Key = tuple[uuid.UUID, str, date, int, str]

SECRETS = text(
    "SELECT id, kind, secrets, token_subjects FROM metrics.sources"
    " WHERE id = ANY(CAST(:ids AS uuid[]))"
)
CLAIM = """
INSERT INTO metrics.deliveries (source_id, delivery_id, body_hash, response)
SELECT s, d, h, '{}' FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(s, d, h)
ON CONFLICT DO NOTHING RETURNING source_id, delivery_id
"""
SEEN = """
SELECT d.source_id, d.delivery_id, d.body_hash, d.response
FROM metrics.deliveries AS d
JOIN unnest($1::uuid[], $2::text[]) AS t(s, i) ON d.source_id = t.s AND d.delivery_id = t.i
"""
# The group's rows in one statement: every row becomes a revision, the latest report of each
# key (``winner``) is upserted into facts (in key order, so concurrent writers lock alike), the
# changed plan/channel/days are remembered, and the facts as they stood before the statement
# are returned so each delivery's counts can be worked out as if it had come alone.
UPSERT = "".join(  # constants only: the shared dirty-day marking in the middle
    (
        """
WITH incoming AS (
    SELECT t.source_id, t.entity, t.day, t.hour, t.metric, t.value, t.reported_at, t.delivery_id,
        t.winner, m.plan_id, m.channel_id
    FROM unnest($1::uuid[], $2::text[], $3::date[], $9::smallint[], $4::text[], $5::numeric[],
        $6::timestamptz[], $7::text[], $8::bool[])
        AS t(source_id, entity, day, hour, metric, value, reported_at, delivery_id, winner)
    LEFT JOIN metrics.mappings AS m ON m.source_id = t.source_id AND m.entity = t.entity
), revisions AS (
    INSERT INTO metrics.fact_revisions
        (source_id, entity, day, hour, metric, value, reported_at, delivery_id)
    SELECT source_id, entity, day, hour, metric, value, reported_at, delivery_id FROM incoming
), dirty AS (
""",
        MARK_DIRTY,
        """), changed AS (
    INSERT INTO metrics.facts AS f
        (source_id, entity, day, hour, metric, value, reported_at, plan_id, channel_id)
    SELECT source_id, entity, day, hour, metric, value, reported_at, plan_id, channel_id
    FROM incoming WHERE winner
    ON CONFLICT (source_id, entity, day, hour, metric) DO UPDATE
        SET value = EXCLUDED.value, reported_at = EXCLUDED.reported_at,
            plan_id = EXCLUDED.plan_id, channel_id = EXCLUDED.channel_id
        WHERE f.reported_at < EXCLUDED.reported_at
)
SELECT f.source_id, f.entity, f.day, f.hour, f.metric, f.reported_at
FROM metrics.facts AS f
JOIN incoming AS i ON i.winner AND f.source_id = i.source_id AND f.entity = i.entity
    AND f.day = i.day AND f.hour = i.hour AND f.metric = i.metric
""",
    )
)
# Each stored delivery's answer, and its event, in one round trip (the NOTIFY is delivered on
# commit only, so a rolled-back group wakes nobody). metrics.outbox is ``outbox.table``.
ANSWER_AND_RECORD = """
WITH answered AS (
    UPDATE metrics.deliveries AS d SET response = t.response::jsonb
    FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(source_id, delivery_id, response)
    WHERE d.source_id = t.source_id AND d.delivery_id = t.delivery_id
), events AS (
    INSERT INTO metrics.outbox
        (event_id, topic, subject, event_type, envelope)
    SELECT * FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[]::jsonb[])
)
SELECT pg_notify($9, '')
"""


class StorageUnavailable(DomainError):
    """The group could not be stored just now; nothing of it was."""

    status, slug, title = 503, "storage-unavailable", "Storage unavailable, retry later"


class Busy(DomainError):
    """Too many small deliveries are waiting; the platform should retry."""

    status, slug, title = 503, "busy", "Busy, retry later"


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


def _answer(item: Delivery, outcome: dict[str, Any] | BaseException) -> None:
    """Resolve one waiting request (a request that went away is not waited for)."""
    if item.future.done():
        return
    if isinstance(outcome, BaseException):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)


def _transient(exc: BaseException) -> bool:
    """Whether a failure passes by itself (the group is refused whole with a 503)."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig or exc
        exc = getattr(exc, "__cause__", None) or exc
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "") or "").startswith(TRANSIENT_SQLSTATES)
    return isinstance(exc, PoolTimeout | ConnectionError | OSError | asyncpg.InterfaceError)


class Coalescer:
    """Per-process queue of small deliveries and the task that stores them in groups."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        after_commit: Callable[[], None],
        *,
        flush_seconds: float | None = None,
        flush_rows: int | None = None,
        max_queued_rows: int | None = None,
        max_flushes: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.after_commit = after_commit
        self.flush_seconds = FLUSH_SECONDS if flush_seconds is None else flush_seconds
        self.flush_rows = FLUSH_ROWS if flush_rows is None else flush_rows
        self.max_queued_rows = MAX_QUEUED_ROWS if max_queued_rows is None else max_queued_rows
        self.commits = 0  # groups committed, for tests and the bench
        self._queue: list[Delivery] = []
        self._queued_rows = 0
        self._first_at = 0.0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(MAX_FLUSHES if max_flushes is None else max_flushes)

    @property
    def queued(self) -> int:
        """Deliveries waiting for their group."""
        return len(self._queue)

    async def start(self) -> None:
        self._closed = False
        self._task = asyncio.create_task(self._run(), name=f"{SERVICE}-webhook-coalescer")

    async def stop(self) -> None:
        """Take no more deliveries; store those waiting, then end the flusher."""
        self._closed = True
        self._wake.set()
        self._full.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def submit(
        self,
        source_id: uuid.UUID,
        headers: dict[str, str | None],
        body: bytes,
        report: Report,
        now: datetime,
    ) -> dict[str, Any]:
        """Queue a validated small delivery; its answer once its group has committed."""
        if self._closed:
            raise Busy("the service is shutting down", retry_after=1)
        if self._queued_rows >= self.max_queued_rows:
            raise Busy("too many deliveries waiting", retry_after=1)
        item = Delivery(
            source_id,
            headers,
            body,
            report,
            now,
            correlation_id.get(),
            asyncio.get_running_loop().create_future(),
        )
        if not self._queue:
            self._first_at = time.monotonic()
        self._queue.append(item)
        self._queued_rows += item.rows
        self._wake.set()
        if self._queued_rows >= self.flush_rows:
            self._full.set()
        # A request that goes away does not cancel its delivery: the group still stores it.
        return await asyncio.shield(item.future)

    async def _run(self) -> None:
        flushing: set[asyncio.Task[None]] = set()
        try:
            while True:
                if not self._queue:
                    if self._closed:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                # While every slot is busy the queue keeps filling: the next group is larger.
                await self._slots.acquire()
                wait = self._first_at + self.flush_seconds - time.monotonic()
                if wait > 0 and not self._full.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), timeout=wait)
                group, self._queue, self._queued_rows = self._queue, [], 0
                if not self._closed:
                    self._full.clear()
                task = asyncio.create_task(self._flush_in_slot(group))
                flushing.add(task)
                task.add_done_callback(flushing.discard)
        finally:
            if flushing:
                await asyncio.gather(*flushing, return_exceptions=True)

    async def _flush_in_slot(self, group: list[Delivery]) -> None:
        try:
            await self.flush(group)
        except BaseException as exc:  # never leave a request waiting
            for item in group:
                _answer(item, StorageUnavailable("the delivery was not stored", retry_after=1))
            if not isinstance(exc, Exception):
                raise
            log.exception("webhook group failed")
        finally:
            self._slots.release()

    async def flush(self, group: list[Delivery]) -> None:
        """Store a group in one transaction; on a failure that is not transient, each alone."""
        GROUP_SIZE.observe(len(group))
        try:
            with FLUSH_TIME.time():
                outcomes = await self._store(group)
        except Exception as exc:
            if _transient(exc):
                FLUSHES.labels("unavailable").inc()
                log.warning("webhook group of %d refused: %s", len(group), exc)
                for item in group:
                    _answer(
                        item,
                        StorageUnavailable(
                            "the database could not take the delivery just now; nothing was stored",
                            retry_after=1,
                        ),
                    )
                return
            if len(group) == 1:
                FLUSHES.labels("refused").inc()
                _answer(group[0], exc)  # the app's handlers map it (422 unstorable, 500)
                return
            FLUSHES.labels("split").inc()
            log.warning("webhook group of %d failed; storing each alone", len(group))
            for item in group:
                await self.flush([item])
            return
        FLUSHES.labels("committed").inc()
        self.commits += 1
        self.after_commit()
        for item, outcome in zip(group, outcomes, strict=True):
            _answer(item, outcome)

    async def _store(self, group: list[Delivery]) -> list[dict[str, Any] | BaseException]:
        """One transaction for the group; each delivery's outcome, valid once it commits."""
        outcomes: list[dict[str, Any] | BaseException | None] = [None] * len(group)
        async with self.sessions() as session, session.begin():
            # Through SQLAlchemy first: that opens the transaction the raw statements run in.
            sources = {
                row["id"]: row
                for row in (
                    await session.execute(
                        SECRETS, {"ids": list({item.source_id for item in group})}
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
                    CLAIM,
                    [i.source_id for i in claiming],
                    [i.delivery_id for i in claiming],
                    [i.body_hash for i in claiming],
                )
            }
            stored: dict[tuple[uuid.UUID, str], tuple[str, dict[str, Any] | None]] = {}
            earlier = [i for i in claiming if i.key not in claimed]
            if earlier:
                for r in await raw.fetch(
                    SEEN, [i.source_id for i in earlier], [i.delivery_id for i in earlier]
                ):
                    stored[(r["source_id"], r["delivery_id"])] = (r["body_hash"], r["response"])
            writers = [i for i in claiming if i.key in claimed]
            answers = await _write(raw, writers) if writers else {}
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


async def _write(raw: Any, writers: list[Delivery]) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    """Upsert the writers' rows in one statement; store their answers and events."""
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
            if best is None or best[0] < at:
                winner[key] = (at, n)
            rows.append((key, value, at, item.delivery_id, n))
    rows.sort(key=lambda r: (str(r[0][0]), r[0][1], r[0][2], r[0][3], r[0][4], r[4]))
    before = await raw.fetch(
        UPSERT,
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
    envelopes: list[Envelope] = []
    for item in writers:
        at = item.report.report_time
        inserted = revised = stale = 0
        for entity, day, hour, metric in item.facts:
            key = (item.source_id, entity, day, hour, metric)
            seen = state.get(key)
            if seen is None:
                inserted += 1
                state[key] = at
            elif seen < at:
                revised += 1
                state[key] = at
            else:
                stale += 1
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
        envelopes.append(
            Envelope.wrap(
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
                source=outbox.source,
                subject=str(item.source_id),
                correlation_id=item.correlation,
            )
        )
    await raw.fetchval(
        ANSWER_AND_RECORD,
        [i.source_id for i in writers],
        [i.delivery_id for i in writers],
        [json.dumps(answers[i.key]) for i in writers],
        [e.id for e in envelopes],
        [IngestionSummaryV1.topic_name()] * len(envelopes),
        [e.subject for e in envelopes],
        [e.type for e in envelopes],
        [json.dumps(e.model_dump(mode="json")) for e in envelopes],
        notify_channel(outbox.table),
    )
    return answers
