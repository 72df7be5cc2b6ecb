"""A service's copy of the derived metrics the metrics service announced.

Planning (objectives) and alerts (rules) must accept a metric an operator defined at run time,
without calling the metrics service: each keeps the keys from ``metrics.metric.defined`` in
its own ``derived_metrics`` table, defined here once (as the bus tables are).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, Table, Text, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contract.events.metrics import MetricDefinedV1


@dataclass(frozen=True)
class KnownMetrics:
    """The derived metrics one service has learnt; the highest version seen wins."""

    table: Table

    @classmethod
    def define(cls, metadata: MetaData) -> KnownMetrics:
        """Add the table to a service's metadata (and so to its migrations)."""
        return cls(
            Table(
                "derived_metrics",
                metadata,
                Column("key", Text, primary_key=True),
                Column("kind", Text, nullable=False),  # ratio | counter | money
                Column("version", Integer, nullable=False),
            )
        )

    async def remember(self, session: AsyncSession, event: MetricDefinedV1) -> None:
        """Keep a derived metric's key and kind; an older version arriving late changes nothing."""
        statement = insert(self.table).values(
            key=event.key, kind=event.kind.value, version=event.version
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[self.table.c.key],
                set_={"kind": statement.excluded.kind, "version": statement.excluded.version},
                where=self.table.c.version < statement.excluded.version,
            )
        )

    async def kinds(self, session: AsyncSession) -> dict[str, str]:
        """The derived metrics known so far: key → kind."""
        rows = await session.execute(select(self.table.c.key, self.table.c.kind))
        return dict(rows.all())
