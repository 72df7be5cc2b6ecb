"""Operators' view of parked events: list them, replay them after a fix."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import Row, Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.kit.auth import Operator
from shared.kit.errors import NotFound
from shared.kit.http import RowId
from shared.kit.pagination import Page, Paging, decode_int_cursor, encode_cursor

DeadLetterStatus = Literal["parked", "replayed"]


class DeadLetterRead(BaseModel):
    """An event a consumer could not apply."""

    id: int
    consumer: str
    event_id: str | None
    event_type: str | None
    subject: str | None
    error: str
    attempts: int
    status: DeadLetterStatus
    created_at: datetime
    updated_at: datetime
    raw: str


class ReplayResult(BaseModel):
    """What each replayed event ended as (applied, duplicate or failed)."""

    outcomes: dict[int, str]


async def list_dead_letters(
    sessions: async_sessionmaker[AsyncSession],
    table: Table,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    consumer: str | None,
) -> Page[DeadLetterRead]:
    """A page of dead letters in id order, filtered by status and consumer."""
    query = select(table).order_by(table.c.id).limit(limit + 1)
    if (after := decode_int_cursor(cursor)) is not None:
        query = query.where(table.c.id > after)
    if status:
        query = query.where(table.c.status == status)
    if consumer:
        query = query.where(table.c.consumer == consumer)
    async with sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    items = [
        DeadLetterRead.model_validate(
            {**row, "event_id": str(row["event_id"]) if row["event_id"] else None}
        )
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor(str(items[-1].id)) if len(rows) > limit else None
    return Page[DeadLetterRead](items=items, next_cursor=next_cursor)


async def get_dead_letter(
    sessions: async_sessionmaker[AsyncSession], table: Table, dead_letter_id: int
) -> Row[Any] | None:
    """One dead letter by id, or None."""
    async with sessions() as session:
        return (await session.execute(select(table).where(table.c.id == dead_letter_id))).first()


def dead_letter_router() -> APIRouter:
    """Routes mounted under every service's prefix; thin, the queries are above."""
    router = APIRouter(prefix="/dead-letters", tags=["dead letters"])

    @router.get("", response_model=Page[DeadLetterRead])
    async def list_parked(
        request: Request,
        _operator: Operator,
        paging: Paging,
        status: Annotated[DeadLetterStatus | None, Query(description="parked or replayed")] = (
            "parked"
        ),
        consumer: Annotated[str | None, Query(description="the consumer that parked it")] = None,
    ) -> Page[DeadLetterRead]:
        runtime = request.app.state.runtime
        page = await list_dead_letters(
            runtime.sessions,
            runtime.definition.bus.dead_letters,
            limit=paging.window.limit,
            cursor=paging.window.cursor,
            status=status,
            consumer=consumer,
        )
        return paging.respond(page)

    @router.post("/{dead_letter_id}/replay", response_model=ReplayResult)
    async def replay(request: Request, dead_letter_id: RowId, _operator: Operator) -> ReplayResult:
        """Re-apply this parked event and the later parked events of its subject, in order."""
        runtime = request.app.state.runtime
        row = await get_dead_letter(
            runtime.sessions, runtime.definition.bus.dead_letters, dead_letter_id
        )
        if row is None or row.status != "parked":
            raise NotFound(f"no parked dead letter {dead_letter_id}")
        inbox = runtime.inboxes.get(row.consumer)
        if inbox is None:
            raise NotFound(f"consumer {row.consumer} no longer exists in this service")
        outcomes = await inbox.replay_subject(row.subject, dead_letter_id)
        return ReplayResult(outcomes=dict(outcomes))

    return router
