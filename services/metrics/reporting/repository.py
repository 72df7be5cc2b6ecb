"""The report's own queries."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.models import Fact, Source


async def sources_by_metric(
    session: AsyncSession, plan_id: uuid.UUID, first: date, last: date
) -> dict[str, list[str]]:
    """The names of the sources whose facts fed each metric of a plan in a date range."""
    query = (
        select(Fact.metric, Source.name)
        .join(Source, Source.id == Fact.source_id)
        .where(Fact.plan_id == plan_id, Fact.day >= first, Fact.day <= last)
        .distinct()
        .order_by(Fact.metric, Source.name)
    )
    out: dict[str, list[str]] = {}
    for metric, name in (await session.execute(query)).all():
        out.setdefault(metric, []).append(name)
    return out
