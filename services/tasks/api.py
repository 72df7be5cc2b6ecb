"""Tasks' routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.tasks import service
from services.tasks.schemas import KnownPlanRead
from shared.kit.app import Session
from shared.kit.auth import Authenticated

router = APIRouter(tags=["plans"])


@router.get("/plans/{plan_id}", response_model=KnownPlanRead)
async def get_known_plan(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated
) -> KnownPlanRead:
    """A plan as known to the tasks service (from planning's events)."""
    return KnownPlanRead.model_validate(await service.get_known_plan(session, plan_id))
