"""Queries over stored facts outside the ingest hot path; reads only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVarTuple

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased

from services.metrics.models import WHOLE_DAY, Fact, FraudFlag
from services.metrics.repository import Repository

Ts = TypeVarTuple("Ts")
EXCLUDED = "excluded"


def counted() -> Any:
    """The facts a day's figure is made of: its whole-day fact of a metric when there is one,
    else the metric's hours (a source sending both is not counted twice)."""
    whole = aliased(Fact)
    return or_(
        Fact.hour == WHOLE_DAY,
        ~exists().where(
            whole.source_id == Fact.source_id,
            whole.entity == Fact.entity,
            whole.day == Fact.day,
            whole.hour == WHOLE_DAY,
            whole.metric == Fact.metric,
        ),
    )


def _not_excluded() -> Any:
    return ~exists().where(
        FraudFlag.source_id == Fact.source_id,
        FraudFlag.entity == Fact.entity,
        FraudFlag.day == Fact.day,
        FraudFlag.status == EXCLUDED,
    )


def net_of_exclusions(query: Select[*Ts]) -> Select[*Ts]:
    """Leave out the facts of entity-days a reviewer excluded as fraudulent."""
    return query.where(_not_excluded())


class FactsRepository(Repository):
    """Facts summed by entity, and where an entity-day's facts are."""

    async def last_day(self, plan_id: uuid.UUID, until: date) -> date | None:
        """The latest day with facts for a plan, up to a day."""
        query = select(func.max(Fact.day)).where(Fact.plan_id == plan_id, Fact.day <= until)
        found: date | None = await self.session.scalar(query)
        return found

    async def entity_sums(
        self,
        plan_id: uuid.UUID,
        entities: Sequence[str],
        first: date,
        last: date,
        metrics: Sequence[str],
    ) -> dict[tuple[uuid.UUID, str], dict[str, Decimal]]:
        """Each entity's metric sums over a window, of its facts mapped to the plan, net of the
        entity-days excluded as fraudulent (rollups do not keep entities: facts are read)."""
        if not entities:
            return {}
        query = net_of_exclusions(
            select(Fact.source_id, Fact.entity, Fact.metric, func.sum(Fact.value))
            .where(
                Fact.plan_id == plan_id,
                Fact.metric.in_(metrics),
                Fact.day >= first,
                Fact.day <= last,
                Fact.entity.in_(sorted(set(entities))),
                counted(),
            )
            .group_by(Fact.source_id, Fact.entity, Fact.metric)
        )
        found: dict[tuple[uuid.UUID, str], dict[str, Decimal]] = {}
        for source_id, entity, metric, total in (await self.session.execute(query)).all():
            found.setdefault((source_id, entity), {})[metric] = total
        return found
