"""Experiments and the fact sums their reviews are made of; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from services.metrics.facts.repository import counted, net_of_exclusions
from services.metrics.models import Experiment, Fact
from services.metrics.repository import Repository
from shared.kit.pagination import PageWindow, keyset


class ExperimentsRepository(Repository):
    """A plan's experiments, and its facts summed per entity and metric."""

    async def experiments(self, plan_id: uuid.UUID, window: PageWindow) -> Sequence[Experiment]:
        """A plan's experiments, oldest first."""
        query = keyset(
            select(Experiment).where(Experiment.plan_id == plan_id),
            window,
            Experiment.created_at,
            Experiment.id,
        )
        return (await self.session.scalars(query)).all()

    async def all_of_plan(self, plan_id: uuid.UUID) -> Sequence[Experiment]:
        """Every experiment of a plan, oldest first (a plan runs a handful)."""
        query = (
            select(Experiment)
            .where(Experiment.plan_id == plan_id)
            .order_by(Experiment.created_at, Experiment.id)
        )
        return (await self.session.scalars(query)).all()

    async def experiment(self, experiment_id: uuid.UUID) -> Experiment | None:
        """One experiment."""
        return await self.session.get(Experiment, experiment_id)

    async def sums_by_entity(
        self,
        plan_id: uuid.UUID,
        entities: Collection[str],
        metrics: Collection[str],
        starts_on: date | None,
        ends_on: date | None,
    ) -> dict[tuple[str, str], Decimal]:
        """(entity, metric) → the plan's facts summed over the period, net of entity-days a
        reviewer excluded as fraudulent (a whole-day fact counted once, not with its hours)."""
        query = (
            select(Fact.entity, Fact.metric, func.sum(Fact.value))
            .where(
                Fact.plan_id == plan_id,
                Fact.entity.in_(list(entities)),
                Fact.metric.in_(list(metrics)),
                counted(),
            )
            .group_by(Fact.entity, Fact.metric)
        )
        if starts_on is not None:
            query = query.where(Fact.day >= starts_on)
        if ends_on is not None:
            query = query.where(Fact.day <= ends_on)
        rows = await self.session.execute(net_of_exclusions(query))
        return {(entity, metric): total for entity, metric, total in rows}
