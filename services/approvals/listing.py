"""Reading many requests: the filtered list, and the inbox of the stages a caller decides."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import RequestPage, RequestRead
from services.approvals.service import read, roles_for
from shared.contract.types import Role
from shared.kit.auth import Principal
from shared.kit.errors import RuleViolated
from shared.kit.pagination import Page, PageWindow, decode_cursor, encode_cursor, page_in_memory


async def list_requests(
    session: AsyncSession, *, cursor: str | None, limit: int, **filters: Any
) -> RequestPage:
    """A page of requests in a stable order."""
    after_text = decode_cursor(cursor)
    try:
        after = uuid.UUID(after_text) if after_text else None
    except ValueError as exc:
        raise RuleViolated("cursor is not one this API issued", field="cursor") from exc
    rows = await ApprovalRepository(session).list_page(after=after, limit=limit, **filters)
    items = [await read(session, r) for r in rows[:limit]]
    return RequestPage(
        items=items, next_cursor=encode_cursor(str(items[-1].id)) if len(rows) > limit else None
    )


async def inbox(
    session: AsyncSession, actor: Principal, now: datetime, window: PageWindow
) -> Page[RequestRead]:
    """Pending requests whose open stage the caller (or someone they stand in for) decides,
    soonest due first (stages without an SLA last); whose they are is decided per request in
    Python, so the page is cut from the matching requests."""
    roles = await roles_for(session, actor, now)
    waiting = []
    for request in await ApprovalRepository(session).pending():
        stage = request.stages[request.current_stage]
        deciders = set(stage["roles"]) | set(stage.get("escalated_to", []))
        if request.requester != actor.subject and (
            deciders & set(roles) or Role.ADMIN.value in roles
        ):
            waiting.append(await read(session, request))
    return page_in_memory(waiting, window, lambda r: (_due(r), r.id))


def _due(request: RequestRead) -> datetime:
    return request.stages[request.current_stage].due_at or _NO_SLA


_NO_SLA = datetime.max.replace(tzinfo=UTC)
