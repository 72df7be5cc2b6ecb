"""Approval requests filed and decided through the approvals service's own use cases.

``file_request`` is what POST /approvals/requests calls (policies checked, the workflow in force
routed, the audit chain appended, ``approvals.request.requested`` in the outbox); ``decide`` is
what POST /approvals/requests/{id}/decisions calls. One transaction each, as one request each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.approvals import decisions, filing, service
from services.approvals.schemas import DecisionCreate, RequestCreate, RequestRead
from shared.contract.types import Role
from shared.kit.auth import Principal

SPECIALIST = Principal("specialist-amy", frozenset({Role.SPECIALIST}))


def person(role: Role, subject: str | None = None) -> Principal:
    """A caller with one role, named as ``tests.conftest.bearer`` names its token's subject."""
    return Principal(subject or f"test-{role.value}", frozenset({role}))


def sponsorship(days_ahead: int, *, agreement: bool = True) -> dict[str, Any]:
    """docs/domain.md §8's 30,000 campus festival sponsorship, ``days_ahead`` days from today in
    the company's time zone (five days' notice is the policy), with or without the agreement."""
    event_on = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days_ahead)
    attachments = [{"type": "agreement", "reference": "AGR-2024-031"}] if agreement else []
    return {
        "kind": "expense",
        "title": "campus festival sponsorship",
        "amount": "30000.00",
        "cost_type": "sponsorship",
        "event_on": event_on.isoformat(),
        "attachments": attachments,
    }


async def file_request(
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    actor: Principal = SPECIALIST,
    *,
    now: datetime | None = None,
) -> RequestRead:
    """File a request (a POST /approvals/requests body) as ``actor``; a failing policy raises."""
    data = RequestCreate.model_validate(body)
    async with sessions() as session, session.begin():
        return await filing.file_request(session, data, actor, now or service.utc_now())


async def decide(
    sessions: async_sessionmaker[AsyncSession],
    request: RequestRead,
    actor: Principal,
    decision: str = "approve",
    comment: str | None = None,
    *,
    now: datetime | None = None,
) -> RequestRead:
    """``actor``'s decision on the request's current stage; the request as it then stands."""
    data = DecisionCreate.model_validate(
        {"stage": request.current_stage, "decision": decision, "comment": comment}
    )
    async with sessions() as session, session.begin():
        return await decisions.decide(session, request.id, data, actor, now or service.utc_now())
