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
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import SERVICE
from services.metrics.facts.groups import Delivery, StorageUnavailable, store
from services.metrics.facts.ingest import (
    Report,
)
from shared.kit.context import correlation_id
from shared.kit.errors import TRANSIENT_SQLSTATES, DomainError

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


class Busy(DomainError):
    """Too many small deliveries are waiting; the platform should retry."""

    status, slug, title = 503, "busy", "Busy, retry later"


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
                outcomes = await store(self.sessions, group)
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
