"""Every query of the planning service; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.models import Plan


class PlanRepository:
    """Plans in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, plan: Plan) -> Plan:
        """Insert a plan and load its server defaults."""
        self.session.add(plan)
        await self.session.flush()
        await self.session.refresh(plan)
        return plan

    async def get_or_none(self, plan_id: uuid.UUID) -> Plan | None:
        """One plan by id."""
        return await self.session.get(Plan, plan_id)

    async def list_page(
        self, *, after: uuid.UUID | None, limit: int, status: str | None, owner_id: str | None
    ) -> Sequence[Plan]:
        """Up to ``limit + 1`` plans ordered by id, after a cursor, filtered."""
        query = select(Plan).order_by(Plan.id).limit(limit + 1)
        if after is not None:
            query = query.where(Plan.id > after)
        if status is not None:
            query = query.where(Plan.status == status)
        if owner_id is not None:
            query = query.where(Plan.owner_id == owner_id)
        return (await self.session.scalars(query)).all()
