"""Idempotent event handling: inbox, bounded retries, dead letters that keep subject order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.envelope import (
    Envelope,
    EventPayload,
    EventRegistry,
    InvalidEvent,
    UnknownEvent,
)
from shared.kit.bus.tables import BusTables
from shared.kit.context import correlation_id
from shared.kit.observability import EVENTS_CONSUMED

log = logging.getLogger(__name__)

Handler = Callable[[Any, Envelope, AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Subscriber:
    """One handler of a service: its consumer group, the topics it reads, the types it handles."""

    service: str
    handler: Handler
    event_types: frozenset[str]
    topics: tuple[str, ...]
    name: str = field(default="")

    @property
    def group(self) -> str:
        """Consumer group: named after the consuming service and handler."""
        return f"{self.service}.{self.name or self.handler.__name__}"


def subscribe(service: str, handler: Handler, *payloads: type[EventPayload]) -> Subscriber:
    """Declare that ``handler`` consumes these payload types."""
    return Subscriber(
        service=service,
        handler=handler,
        event_types=frozenset(p.event_type for p in payloads),
        topics=tuple(sorted({p.topic_name() for p in payloads})),
    )


class InfrastructureError(RuntimeError):
    """The database itself failed; the event is not the problem, so it is not parked."""


def _is_infrastructure(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | OSError | ConnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Inbox:
    """Applies each event at most once per consumer, in the same transaction as its effect."""

    def __init__(
        self,
        subscriber: Subscriber,
        tables: BusTables,
        sessions: async_sessionmaker[AsyncSession],
        registry: EventRegistry,
        *,
        max_attempts: int = 5,
        retry_delay: float = 0.05,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.subscriber = subscriber
        self.tables = tables
        self.sessions = sessions
        self.registry = registry
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.after_commit = after_commit

    @property
    def consumer(self) -> str:
        """The consumer name recorded in the inbox and dead-letter tables."""
        return self.subscriber.group

    async def receive(self, raw: bytes) -> str:
        """Handle one delivered record; return the outcome (applied, duplicate, ignored, parked)."""
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValueError as exc:
            return await self._park(raw, None, f"invalid envelope: {exc}", attempts=1)
        if envelope.type not in self.subscriber.event_types:
            return "ignored"
        try:
            _, payload = self.registry.decode(raw)
        except (UnknownEvent, InvalidEvent) as exc:
            return await self._park(raw, envelope, str(exc), attempts=1)
        if await self._held_back(envelope.subject):
            return await self._park(raw, envelope, "held back behind an earlier parked event", 0)
        return await self._apply_with_retries(raw, envelope, payload)

    async def _apply_with_retries(
        self, raw: bytes, envelope: Envelope, payload: EventPayload
    ) -> str:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = await self._apply(envelope, payload)
            except Exception as exc:
                if _is_infrastructure(exc):
                    raise InfrastructureError(str(exc)) from exc
                if attempt >= self.max_attempts:
                    log.exception(
                        "%s: parking %s after %d attempts", self.consumer, envelope.id, attempt
                    )
                    return await self._park(raw, envelope, repr(exc), attempts=attempt)
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
                continue
            EVENTS_CONSUMED.labels(self.consumer, outcome).inc()
            return outcome

    async def _apply(self, envelope: Envelope, payload: EventPayload) -> str:
        token = correlation_id.set(envelope.correlation_id)
        try:
            async with self.sessions() as session, session.begin():
                claimed = await session.execute(
                    pg_insert(self.tables.inbox)
                    .values(
                        consumer=self.consumer,
                        event_id=envelope.id,
                        event_type=envelope.type,
                        subject=envelope.subject,
                    )
                    .on_conflict_do_nothing()
                    .returning(self.tables.inbox.c.event_id)
                )
                if claimed.first() is None:
                    return "duplicate"
                await self.subscriber.handler(payload, envelope, session)
            self.after_commit()
            return "applied"
        finally:
            correlation_id.reset(token)

    async def _held_back(self, subject: str) -> bool:
        dead = self.tables.dead_letters
        async with self.sessions() as session:
            query = select(
                exists().where(
                    dead.c.consumer == self.consumer,
                    dead.c.subject == subject,
                    dead.c.status == "parked",
                )
            )
            return bool(await session.scalar(query))

    async def _park(self, raw: bytes, envelope: Envelope | None, error: str, attempts: int) -> str:
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(self.tables.dead_letters).values(
                    consumer=self.consumer,
                    event_id=envelope.id if envelope else None,
                    event_type=envelope.type if envelope else None,
                    subject=envelope.subject if envelope else None,
                    raw=raw.decode("utf-8", errors="replace"),
                    error=error[:4000],
                    attempts=attempts,
                )
            )
        EVENTS_CONSUMED.labels(self.consumer, "parked").inc()
        return "parked"

    async def replay_subject(self, subject: str | None, first_id: int) -> list[tuple[int, str]]:
        """Re-apply parked events of one subject in order, from ``first_id``; stop at a failure."""
        dead = self.tables.dead_letters
        async with self.sessions() as session:
            condition = dead.c.subject.is_(None) if subject is None else dead.c.subject == subject
            rows = (
                await session.execute(
                    select(dead.c.id, dead.c.raw)
                    .where(dead.c.consumer == self.consumer, dead.c.status == "parked", condition)
                    .where(dead.c.id >= first_id)
                    .order_by(dead.c.id)
                )
            ).all()
        results: list[tuple[int, str]] = []
        for row in rows:
            outcome = await self._replay_one(row.id, row.raw.encode())
            results.append((row.id, outcome))
            if outcome == "failed":
                break
        return results

    async def _replay_one(self, dead_id: int, raw: bytes) -> str:
        dead = self.tables.dead_letters
        try:
            envelope, payload = self.registry.decode(raw)
            outcome = await self._apply(envelope, payload)
        except Exception as exc:
            if _is_infrastructure(exc):
                raise InfrastructureError(str(exc)) from exc
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(dead)
                    .where(dead.c.id == dead_id)
                    .values(
                        error=repr(exc)[:4000], attempts=dead.c.attempts + 1, updated_at=func.now()
                    )
                )
            return "failed"
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(dead)
                .where(dead.c.id == dead_id)
                .values(status="replayed", updated_at=func.now())
            )
        return outcome
