"""Every query of the tasks service; flushes, never commits."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.models import KnownPlan


class KnownPlanRepository:
    """The plan projection in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_none(self, plan_id: uuid.UUID) -> KnownPlan | None:
        """One known plan by id."""
        return await self.session.get(KnownPlan, plan_id)

    async def upsert(self, values: dict[str, object]) -> None:
        """Insert or refresh one plan's projection row."""
        statement = insert(KnownPlan).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[KnownPlan.plan_id],
                set_={k: statement.excluded[k] for k in values if k != "plan_id"},
            )
        )
