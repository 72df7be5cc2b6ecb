"""Derived metrics as users defined them; flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from services.metrics.models import DerivedMetric
from services.metrics.repository import Repository


class DictionaryRepository(Repository):
    """Derived metric definitions."""

    async def derived_metrics(self) -> Sequence[DerivedMetric]:
        """Every derived metric by key."""
        return (await self.session.scalars(select(DerivedMetric).order_by(DerivedMetric.key))).all()

    async def derived_metric(self, key: str) -> DerivedMetric | None:
        """One derived metric, locked for a redefinition."""
        return await self.session.get(DerivedMetric, key, with_for_update=True)
