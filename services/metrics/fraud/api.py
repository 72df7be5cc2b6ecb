"""Fraud-flag routes: suspected entity-days, flags by hand, and the reviewers' decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.metrics.access import FlagReader, Reviewer
from services.metrics.fraud import review
from services.metrics.schemas import FlagStatus, FraudDecision, FraudFlagCreate, FraudFlagRead
from shared.kit.app import Session
from shared.kit.http import set_location
from shared.kit.idempotency import IdempotencyKey
from shared.kit.pagination import Page, Paging

router = APIRouter(tags=["metrics"])


@router.get("/plans/{plan_id}/fraud-flags", response_model=Page[FraudFlagRead])
async def fraud_flags(
    plan_id: uuid.UUID,
    session: Session,
    _reader: FlagReader,
    paging: Paging,
    status: Annotated[FlagStatus | None, Query(description="only flags in this state")] = None,
) -> Page[FraudFlagRead]:
    """Entity-days suspected of fake registrations, and the reviewers' decisions, newest day
    first."""
    return paging.respond(await review.fraud_flags(session, plan_id, status, paging.window))


@router.post(
    "/plans/{plan_id}/fraud-flags",
    status_code=status.HTTP_201_CREATED,
    response_model=FraudFlagRead,
)
async def flag_entity_day(
    plan_id: uuid.UUID,
    data: FraudFlagCreate,
    session: Session,
    reviewer: Reviewer,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> FraudFlagRead:
    """Flag an entity-day by hand (suspected, or excluded from net figures at once)."""
    now = datetime.now(UTC)
    flag = await review.flag_entity_day_once(session, plan_id, data, reviewer.subject, now, key)
    set_location(response, request, "decide_fraud_flag", plan_id=plan_id, flag_id=flag.id)
    return flag


@router.put("/plans/{plan_id}/fraud-flags/{flag_id}", response_model=FraudFlagRead)
async def decide_fraud_flag(
    plan_id: uuid.UUID,
    flag_id: uuid.UUID,
    decision: FraudDecision,
    session: Session,
    reviewer: Reviewer,
) -> FraudFlagRead:
    """Exclude the entity-day from net KPI figures, or clear the suspicion."""
    return await review.decide_fraud_flag(
        session, plan_id, flag_id, decision, reviewer.subject, datetime.now(UTC)
    )
