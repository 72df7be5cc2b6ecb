"""Daily and hourly rollups and the figures summed from them; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    Subquery,
    Text,
    Uuid,
    bindparam,
    column,
    delete,
    func,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.facts.repository import FactsRepository
from services.metrics.fx.sql import CURRENCY_PARAMS
from services.metrics.models import DailyRollup, DirtyDay
from services.metrics.repository import Repository
from services.metrics.rollups.sql import (
    CLEAR_HOURLY_ROLLUPS,
    CLEAR_ROLLUPS,
    FILL_HOURLY_ROLLUPS,
    FILL_ROLLUPS,
    HOURLY_ROWS,
    HOURLY_ROWS_KNOWN,
    KNOWN_METRICS,
    ROLLUP_ROWS,
    ROLLUP_ROWS_KNOWN,
    SPILL,
)
from shared.kit.settings import get_settings

PLAN_LEVEL = "plan"  # the channel key of facts mapped to a plan without a channel


def rollup_rows(
    plan_id: uuid.UUID,
    days: Sequence[date],
    metrics: Sequence[str],
    known_at: datetime | None = None,
) -> Subquery:
    """ROLLUP_ROWS of one plan's (source) days, as the snapshot job would store them; with
    ``known_at``, from the facts and exclusions as known then."""
    values: dict[str, object] = {
        **CURRENCY_PARAMS,
        "plans": [plan_id] * len(days),
        "days": list(days),
        "metrics": list(metrics),
        "zone": get_settings().company_timezone,
    }
    if known_at is not None:
        values["known_at"] = known_at
    return (
        text(ROLLUP_ROWS if known_at is None else ROLLUP_ROWS_KNOWN)
        .bindparams(*(bindparam(k, v, unique=True) for k, v in values.items()))
        .columns(
            column("plan_id", Uuid),
            column("day", Date),
            column("metric", Text),
            column("channel_key", Text),
            column("source_id", Uuid),
            column("source_day", Date),
            column("entities", Integer),
            column("gross", Numeric),
            column("net", Numeric),
            column("unconverted_currency", Text),
        )
        .subquery()
    )


@dataclass(frozen=True)
class Figures:
    """A plan's to-date sums and latest-day totals per metric, gross and net of exclusions."""

    gross_sums: dict[str, Decimal]
    gross_latest: dict[str, Decimal]
    net_sums: dict[str, Decimal]
    net_latest: dict[str, Decimal]
    # How many entity-days each sum adds up, and entities its latest day's total does.
    entity_days: dict[str, int] = field(default_factory=dict)
    latest_entities: dict[str, int] = field(default_factory=dict)


def day_rows(
    plan_id: uuid.UUID,
    first: date | None,
    last: date,
    pending: Sequence[date],
    metrics: Sequence[str] | None = None,
    known_at: datetime | None = None,
) -> Subquery:
    """(channel_key, source_id, day, metric, gross, net, entities) of a plan's company days in
    a window.

    Source days whose facts changed since the snapshot job last ran (``pending``: still in
    dirty_days) are summed from facts; every other day is read from its rollup rows. With
    ``known_at`` (``pending`` then every day with facts) all are summed from the facts as known
    then: rollups hold only the present.
    """
    rollups = select(
        DailyRollup.channel_key,
        DailyRollup.source_id,
        DailyRollup.day,
        DailyRollup.metric,
        DailyRollup.value_gross.label("gross"),
        DailyRollup.value_net.label("net"),
        DailyRollup.entities,
    ).where(
        DailyRollup.plan_id == plan_id,
        DailyRollup.day <= last,
        DailyRollup.value_gross.is_not(None),  # money without a rate: reported, not summed
    )
    if first is not None:
        rollups = rollups.where(DailyRollup.day >= first)
    if metrics is not None:
        rollups = rollups.where(DailyRollup.metric.in_(metrics))
    # A source day's hours may land on the company days beside it.
    fresh = [d for d in pending if d <= last + SPILL and (first is None or d >= first - SPILL)]
    if not fresh:
        return rollups.subquery()
    from_facts = rollup_rows(
        plan_id, fresh, metrics if metrics is not None else KNOWN_METRICS, known_at
    )
    converted = select(
        from_facts.c.channel_key,
        from_facts.c.source_id,
        from_facts.c.day,
        from_facts.c.metric,
        from_facts.c.gross,
        from_facts.c.net,
        from_facts.c.entities,
    ).where(from_facts.c.gross.is_not(None), from_facts.c.day <= last)
    if first is not None:
        converted = converted.where(from_facts.c.day >= first)
    if known_at is not None:
        return converted.subquery()
    return union_all(rollups.where(DailyRollup.source_day.not_in(fresh)), converted).subquery()


class RollupsRepository(Repository):
    """A plan's rollups, the plan-days still to roll up, and figures summed from both; with
    ``known_at``, every figure as the system knew it then (summed from the fact revisions)."""

    def __init__(self, session: AsyncSession, known_at: datetime | None = None) -> None:
        super().__init__(session)
        self.known_at = known_at

    async def pending_days(self, plan_id: uuid.UUID) -> list[date]:
        """A plan's days whose facts changed and whose rollups are not yet recomputed (as
        known at a time: every day with facts, none of them rolled up as known then)."""
        if self.known_at is not None:
            return await FactsRepository(self.session).days(plan_id)
        query = select(DirtyDay.day).where(DirtyDay.plan_id == plan_id).distinct()
        return list((await self.session.scalars(query)).all())

    async def _rows(
        self,
        plan_id: uuid.UUID,
        first: date | None,
        last: date,
        metrics: Sequence[str] | None = None,
    ) -> Subquery:
        pending = await self.pending_days(plan_id)
        return day_rows(plan_id, first, last, pending, metrics, self.known_at)

    async def figures(
        self, plan_id: uuid.UUID, until: date, *, since: date | None = None
    ) -> Figures:
        """Every metric's sum and latest-day total up to a day (from ``since``, else from the
        first fact), gross and net, in one statement."""
        rows = await self._rows(plan_id, since, until)
        per_day = (
            select(
                rows.c.metric,
                rows.c.day,
                func.sum(rows.c.gross).label("gross"),
                func.sum(rows.c.net).label("net"),
                func.sum(rows.c.entities).label("entities"),
            )
            .group_by(rows.c.metric, rows.c.day)
            .subquery()
        )
        query = select(
            per_day.c.metric,
            func.sum(per_day.c.gross),
            func.sum(per_day.c.net),
            func.array_agg(aggregate_order_by(per_day.c.gross, per_day.c.day.desc()))[1],
            func.array_agg(aggregate_order_by(per_day.c.net, per_day.c.day.desc())).filter(
                per_day.c.net.is_not(None)
            )[1],
            func.sum(per_day.c.entities),
            func.array_agg(aggregate_order_by(per_day.c.entities, per_day.c.day.desc()))[1],
        ).group_by(per_day.c.metric)
        figures = Figures({}, {}, {}, {})
        for metric, gross, net, gross_latest, net_latest, entity_days, latest_entities in (
            await self.session.execute(query)
        ).all():
            figures.gross_sums[metric], figures.gross_latest[metric] = gross, gross_latest
            if net is not None:
                figures.net_sums[metric], figures.net_latest[metric] = net, net_latest
            figures.entity_days[metric] = int(entity_days or 0)
            figures.latest_entities[metric] = int(latest_entities or 0)
        return figures

    async def sums(
        self,
        plan_id: uuid.UUID,
        until: date,
        channel_id: uuid.UUID | None = None,
        day: date | None = None,
        *,
        net: bool = False,
    ) -> dict[str, Decimal]:
        """Each metric summed over a plan (or one channel), up to a day or for one day.

        ``net`` leaves out the entity-days excluded as fraudulent; gross counts everything.
        """
        rows = await self._rows(plan_id, day, day or until)
        value = rows.c.net if net else rows.c.gross
        query = select(rows.c.metric, func.sum(value)).group_by(rows.c.metric)
        if channel_id is not None:
            query = query.where(rows.c.channel_key == str(channel_id))
        return {m: v for m, v in (await self.session.execute(query)).all() if v is not None}

    async def channel_sums(
        self, plan_id: uuid.UUID, until: date
    ) -> dict[uuid.UUID | None, dict[str, Decimal]]:
        """Metric sums per channel of a plan."""
        rows = await self._rows(plan_id, None, until)
        query = select(rows.c.channel_key, rows.c.metric, func.sum(rows.c.gross)).group_by(
            rows.c.channel_key, rows.c.metric
        )
        out: dict[uuid.UUID | None, dict[str, Decimal]] = {}
        for key, metric, total in (await self.session.execute(query)).all():
            channel = None if key == PLAN_LEVEL else uuid.UUID(key)
            out.setdefault(channel, {})[metric] = total
        return out

    async def daily(
        self, plan_id: uuid.UUID, metric: str, until: date = date.max
    ) -> list[tuple[date, Decimal]]:
        """A metric's daily totals for a plan, for trend charts."""
        rows = await self._rows(plan_id, None, until, [metric])
        query = select(rows.c.day, func.sum(rows.c.gross)).group_by(rows.c.day).order_by(rows.c.day)
        return [(d, v) for d, v in (await self.session.execute(query)).all()]

    async def channel_days(
        self, plan_id: uuid.UUID, first: date, last: date, metrics: Sequence[str]
    ) -> list[tuple[date, str, str, Decimal, Decimal | None, int]]:
        """(day, channel_key, metric, gross, net, entities) of a plan's company days in a
        window, sources summed."""
        rows = await self._rows(plan_id, first, last, metrics)
        query = (
            select(
                rows.c.day,
                rows.c.channel_key,
                rows.c.metric,
                func.sum(rows.c.gross),
                func.sum(rows.c.net),
                func.sum(rows.c.entities),
            )
            .group_by(rows.c.day, rows.c.channel_key, rows.c.metric)
            .order_by(rows.c.day, rows.c.channel_key, rows.c.metric)
        )
        return [
            (d, c, m, g, n, int(e or 0))
            for d, c, m, g, n, e in (await self.session.execute(query)).all()
        ]

    async def refresh_rollups(
        self, days: Sequence[tuple[uuid.UUID, date]], zone: str | None = None
    ) -> set[tuple[uuid.UUID, str, date]]:
        """Recompute the daily and hourly rollup rows of these plan-days (the facts' own days)
        from facts (four statements a batch); days and hours are the company time zone's
        (``zone``, else the setting). Returns the (plan, channel_key, company day) rows written.
        """
        keys = sorted(set(days))
        if not keys:
            return set()
        values = {
            "plans": [p for p, _ in keys],
            "days": [d for _, d in keys],
            "metrics": KNOWN_METRICS,
            "zone": zone or get_settings().company_timezone,
            **CURRENCY_PARAMS,
        }
        await self.session.execute(CLEAR_ROLLUPS, values)
        written = await self.session.execute(FILL_ROLLUPS, values)
        await self.session.execute(CLEAR_HOURLY_ROLLUPS, values)
        await self.session.execute(FILL_HOURLY_ROLLUPS, values)
        return {(p, c, d) for p, c, d in written.all()}

    async def hourly(
        self,
        plan_id: uuid.UUID,
        since: datetime,
        until: datetime,
        metrics: Sequence[str],
        zone: str,
    ) -> list[tuple[datetime, str, str, Decimal, Decimal | None]]:
        """(hour, channel_key, metric, gross, net) of a plan's company-time-zone hours in
        [since, until), sources summed; whole-day facts have no hour and are not in them."""
        pending = await self.pending_days(plan_id)
        values: dict[str, object] = {
            "plan": plan_id,
            "since": since,
            "until": until,
            "metrics": list(metrics),
            "pending": pending,
            "zone": zone,
            **CURRENCY_PARAMS,
        }
        if self.known_at is not None:
            # A source day's hours lie within two days of it: only those can be in the range.
            days = [d for d in pending if since.date() - SPILL <= d <= until.date() + SPILL]
            values.update(known_at=self.known_at, plans=[plan_id], days=days, pending=days)
        rows = await self.session.execute(
            HOURLY_ROWS if self.known_at is None else HOURLY_ROWS_KNOWN, values
        )
        return [(h, c, m, g, n) for h, c, m, g, n in rows.all()]

    async def take_dirty(self, limit: int = 500) -> Sequence[DirtyDay]:
        """Claim changed plan/channel/days to publish; another replica skips what we hold.

        One statement locks and deletes: a change whose mark meets a claimed row waits for this
        transaction and marks its day again after it.
        """
        claimed = (
            select(DirtyDay.plan_id, DirtyDay.channel_key, DirtyDay.day)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self.session.execute(
            delete(DirtyDay)
            .where(tuple_(DirtyDay.plan_id, DirtyDay.channel_key, DirtyDay.day).in_(claimed))
            .returning(DirtyDay.plan_id, DirtyDay.channel_key, DirtyDay.day)
        )
        return [DirtyDay(plan_id=p, channel_key=c, day=d) for p, c, d in rows.all()]

    async def unconverted(
        self, plan_id: uuid.UUID, first: date, last: date, metrics: Sequence[str]
    ) -> list[tuple[str, date]]:
        """(source currency, day) of a plan's money in a window that has no rate into the
        plan's currency: from rollup rows, or from facts for days not rolled up yet."""
        pending = [
            d for d in await self.pending_days(plan_id) if first - SPILL <= d <= last + SPILL
        ]
        rolled = select(DailyRollup.unconverted_currency, DailyRollup.day).where(
            DailyRollup.plan_id == plan_id,
            DailyRollup.day >= first,
            DailyRollup.day <= last,
            DailyRollup.metric.in_(metrics),
            DailyRollup.unconverted_currency.is_not(None),
        )
        query: Any = rolled.distinct()
        if pending:
            fresh = rollup_rows(plan_id, pending, metrics, self.known_at)
            query = union_all(
                rolled.where(DailyRollup.source_day.not_in(pending)),
                select(fresh.c.unconverted_currency, fresh.c.day).where(
                    fresh.c.unconverted_currency.is_not(None),
                    fresh.c.day >= first,
                    fresh.c.day <= last,
                ),
            )
        return [(c, d) for c, d in (await self.session.execute(query)).all()]
