"""Plan targets, decompositions and evaluation notes; flushes, never commits."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.metrics.models import Decomposition, EvaluationNote, PlanTarget
from services.metrics.repository import Repository


class KpisRepository(Repository):
    """What planning published about a plan's targets, and users' notes on them."""

    async def target(self, plan_id: uuid.UUID) -> PlanTarget | None:
        """A plan's targets as planning last published them."""
        return await self.session.get(PlanTarget, plan_id)

    async def notes(self, plan_id: uuid.UUID) -> dict[uuid.UUID, EvaluationNote]:
        """Users' analysis and suggestions per objective."""
        rows = await self.session.scalars(
            select(EvaluationNote).where(EvaluationNote.plan_id == plan_id)
        )
        return {n.objective_id: n for n in rows}

    async def upsert_note(self, values: dict[str, object]) -> None:
        """Store the analysis and suggestion of one evaluation row."""
        statement = insert(EvaluationNote).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[EvaluationNote.plan_id, EvaluationNote.objective_id],
                set_={k: statement.excluded[k] for k in ("data_source", "analysis", "suggestion")},
            )
        )

    async def decomposition(
        self, plan_id: uuid.UUID, objective_id: uuid.UUID
    ) -> Decomposition | None:
        """An objective's target tree as planning last published it."""
        return await self.session.get(Decomposition, (plan_id, objective_id))
