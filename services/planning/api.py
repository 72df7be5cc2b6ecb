"""Planning's routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.planning import service
from services.planning.schemas import PlanCreate, PlanPage, PlanRead
from shared.contract.types import Role
from shared.kit.app import Session
from shared.kit.auth import Authenticated, Principal, require
from shared.kit.pagination import Cursor, Limit

Planner = Annotated[Principal, Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER))]

router = APIRouter(prefix="/plans", tags=["plans"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlanRead)
async def create_plan(data: PlanCreate, session: Session, actor: Planner) -> PlanRead:
    """Create a draft campaign plan."""
    return PlanRead.model_validate(await service.create_plan(session, data, actor))


@router.get("/{plan_id}", response_model=PlanRead)
async def get_plan(plan_id: uuid.UUID, session: Session, _caller: Authenticated) -> PlanRead:
    """One plan."""
    return PlanRead.model_validate(await service.get_plan(session, plan_id))


@router.get("", response_model=PlanPage)
async def list_plans(
    session: Session,
    _caller: Authenticated,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: str | None = None,
    owner_id: str | None = None,
) -> PlanPage:
    """Plans, filtered by status and owner, in a stable order."""
    return await service.list_plans(
        session, cursor=cursor, limit=limit, status=status, owner_id=owner_id
    )
