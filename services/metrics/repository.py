"""Every query of the metrics service outside the ingest hot path; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVarTuple

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    Select,
    Subquery,
    Text,
    Uuid,
    bindparam,
    column,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.metrics.currency import DEFAULT_PLAN_CURRENCY, MONEY_METRICS
from services.metrics.models import (
    WHOLE_DAY,
    DailyRollup,
    Decomposition,
    DerivedMetric,
    DirtyDay,
    EvaluationNote,
    Fact,
    FraudFlag,
    FxRate,
    LateNotice,
    Mapping,
    PlanTarget,
    Source,
)
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.kit.settings import get_settings

Ts = TypeVarTuple("Ts")
EXCLUDED = "excluded"
PLAN_LEVEL = "plan"  # the channel key of facts mapped to a plan without a channel
# Every metric a fact can carry (ingest validates against the dictionary). Naming them lets a
# (plan, day) lookup use the facts' (plan_id, metric, day) index instead of the whole plan.
KNOWN_METRICS = sorted(METRIC_DICTIONARY)
SPILL = timedelta(days=2)  # how far from its own day a source day's hours may land

# Recompute the rollups of a batch of plan-days (the facts' own days) from facts: all channels
# and sources of each day, so a fact that moved channel leaves its old row, and net follows the
# fraud flags now. The company day bounds only let the delete use the (plan, day) key: a source
# day's hours lie within two days of it, whatever the zones (UTC-12 to UTC+14).
CLEAR_ROLLUPS = text(
    """
    DELETE FROM metrics.daily_rollups AS r
    USING unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    WHERE r.plan_id = d.plan_id AND r.source_day = d.day
        AND r.day BETWEEN d.day - 2 AND d.day + 2
    """
)
# The company day of a fact ``f`` of source ``s``: its own day for a whole-day fact, else the
# company day its hour starts in (as HOUR_START: the hours of a company day add up to it).
COMPANY_DAY = """CASE WHEN f.hour = -1 THEN f.day
        ELSE ((f.day + make_interval(hours => f.hour)) AT TIME ZONE coalesce(s.timezone, :zone)
            AT TIME ZONE :zone)::date END"""
# currency.py's rules in SQL, per fact f of source s and plan targets t: the value in the plan's
# currency, NULL for money with no rate on its day. A fact whose source row is unknown is taken
# to be in the plan's currency.
CONVERTED = """
    SELECT CASE
        WHEN f.metric <> ALL(CAST(:money AS text[])) OR cur.fact_currency = cur.plan_currency
        THEN f.value
        ELSE (
            SELECT CASE WHEN r.base = cur.fact_currency THEN round(f.value * r.rate, 6)
                ELSE round(f.value / r.rate, 6) END
            FROM metrics.fx_rates AS r
            WHERE r.valid_from <= f.day
                AND ((r.base = cur.fact_currency AND r.quote = cur.plan_currency)
                    OR (r.base = cur.plan_currency AND r.quote = cur.fact_currency))
            ORDER BY r.valid_from DESC, r.base = cur.fact_currency DESC
            LIMIT 1)
    END AS value
"""
# The joins that give each fact ``f`` of source ``s`` its value ``c.value`` in the plan's currency
# (NULL for money with no rate on its day); shared by the daily and the hourly rollups.
IN_PLAN_CURRENCY = "".join(  # constants only
    (
        """
    LEFT JOIN metrics.plan_targets AS t ON t.plan_id = f.plan_id
    CROSS JOIN LATERAL (
        SELECT coalesce(t.currency, :default_currency) AS plan_currency,
            coalesce(s.currency, t.currency, :default_currency) AS fact_currency
    ) AS cur
    CROSS JOIN LATERAL (""",
        CONVERTED,
        """) AS c""",
    )
)
# A batch of plan-days' rollup rows from facts, money in the plan's currency. A row whose money
# has no rate keeps NULL values and names the currency (the whole row shares source and day).
ROLLUP_ROWS = "".join(  # constants only: the shared conversion in the middle
    (
        """
    SELECT f.plan_id, """,
        COMPANY_DAY,
        """ AS day, f.metric,
        coalesce(f.channel_id::text, 'plan') AS channel_key, f.source_id, f.day AS source_day,
        count(DISTINCT f.entity) AS entities,
        sum(c.value) AS gross,
        sum(c.value) FILTER (WHERE NOT EXISTS (
            SELECT 1 FROM metrics.fraud_flags AS x
            WHERE x.source_id = f.source_id AND x.entity = f.entity AND x.day = f.day
                AND x.status = 'excluded')) AS net,
        CASE WHEN count(c.value) = 0 THEN min(cur.fact_currency) END AS unconverted_currency
    FROM unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    JOIN metrics.facts AS f
        ON f.plan_id = d.plan_id AND f.day = d.day AND f.metric = ANY(CAST(:metrics AS text[]))
    LEFT JOIN metrics.sources AS s ON s.id = f.source_id""",
        IN_PLAN_CURRENCY,
        """
    WHERE f.hour = -1 OR NOT EXISTS (  -- hours count only for a day without its whole-day fact
        SELECT 1 FROM metrics.facts AS w
        WHERE w.source_id = f.source_id AND w.entity = f.entity AND w.day = f.day
            AND w.hour = -1 AND w.metric = f.metric)
    GROUP BY 1, 2, 3, 4, 5, 6
""",
    )
)
FILL_ROLLUPS = text(
    """
    INSERT INTO metrics.daily_rollups (plan_id, day, metric, channel_key, source_id,
        source_day, entities, value_gross, value_net, unconverted_currency)
    """
    + ROLLUP_ROWS
    + "RETURNING plan_id, channel_key, day"
)
CURRENCY_PARAMS = {"money": MONEY_METRICS, "default_currency": DEFAULT_PLAN_CURRENCY}
# The plan-days a rate (base, quote) set from :valid_from (until the pair's next rate) changes:
# money facts in one currency of the pair, of plans in the other. The facts' primary key leads
# with the source, so only the sources in those currencies are read. Marked as MARK_DIRTY does
# (DO UPDATE keeps the mark locked until commit, so the snapshot job cannot rebuild a day with
# the old rate after claiming it).
MARK_RATE_DIRTY = text(
    """
    INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
    SELECT DISTINCT f.plan_id, keys.channel_key, f.day
    FROM metrics.sources AS s
    JOIN metrics.facts AS f ON f.source_id = s.id
    LEFT JOIN metrics.plan_targets AS t ON t.plan_id = f.plan_id
    CROSS JOIN LATERAL (VALUES (coalesce(f.channel_id::text, 'plan')), ('plan'))
        AS keys(channel_key)
    WHERE s.currency IN (:base, :quote) AND f.plan_id IS NOT NULL
        AND f.metric = ANY(CAST(:money AS text[]))
        AND f.day >= :valid_from AND f.day < coalesce(CAST(:until AS date), 'infinity')
        AND coalesce(t.currency, :default_currency) IN (:base, :quote)
        AND coalesce(t.currency, :default_currency) <> s.currency
    ORDER BY 1, 2, 3
    ON CONFLICT (plan_id, channel_key, day) DO UPDATE SET day = EXCLUDED.day
    """
)
# Every day of a plan with money facts (its currency became known: each fact's conversion may
# change).
MARK_MONEY_DIRTY = text(
    """
    INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
    SELECT DISTINCT f.plan_id, keys.channel_key, f.day
    FROM metrics.facts AS f
    CROSS JOIN LATERAL (VALUES (coalesce(f.channel_id::text, 'plan')), ('plan'))
        AS keys(channel_key)
    WHERE f.plan_id = :plan AND f.metric = ANY(CAST(:money AS text[]))
    ORDER BY 1, 2, 3
    ON CONFLICT (plan_id, channel_key, day) DO UPDATE SET day = EXCLUDED.day
    """
)


def rollup_rows(plan_id: uuid.UUID, days: Sequence[date], metrics: Sequence[str]) -> Subquery:
    """ROLLUP_ROWS of one plan's (source) days, as the snapshot job would store them."""
    values: dict[str, object] = {
        **CURRENCY_PARAMS,
        "plans": [plan_id] * len(days),
        "days": list(days),
        "metrics": list(metrics),
        "zone": get_settings().company_timezone,
    }
    return (
        text(ROLLUP_ROWS)
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


# A re-mapped campaign: its facts move with the mapping at once (not only when re-reported), and
# the old and the new plan/channel days are marked; all CTEs read the same snapshot, so ``old``
# sees the places before the UPDATE. A mark already there is updated, not skipped, so it stays
# locked until this commit (see MARK_DIRTY in ingest.py).
MOVE_ENTITY = text(
    """
    WITH old AS (
        SELECT DISTINCT plan_id, channel_id, day FROM metrics.facts
        WHERE source_id = :source AND entity = :entity
            AND (plan_id IS DISTINCT FROM CAST(:plan AS uuid)
                OR channel_id IS DISTINCT FROM CAST(:channel AS uuid))
    ), moved AS (
        UPDATE metrics.facts SET plan_id = :plan, channel_id = CAST(:channel AS uuid)
        WHERE source_id = :source AND entity = :entity
            AND (plan_id IS DISTINCT FROM CAST(:plan AS uuid)
                OR channel_id IS DISTINCT FROM CAST(:channel AS uuid))
    ), flags AS (
        UPDATE metrics.fraud_flags SET plan_id = :plan, channel_id = CAST(:channel AS uuid)
        WHERE source_id = :source AND entity = :entity
    )
    INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
    SELECT DISTINCT place.plan_id, place.channel_key, old.day
    FROM old CROSS JOIN LATERAL (VALUES
        (old.plan_id, coalesce(old.channel_id::text, 'plan')), (old.plan_id, 'plan'),
        (CAST(:plan AS uuid), coalesce(CAST(CAST(:channel AS uuid) AS text), 'plan')),
        (CAST(:plan AS uuid), 'plan')
    ) AS place(plan_id, channel_key)
    WHERE place.plan_id IS NOT NULL
    ORDER BY 1, 2, 3
    ON CONFLICT (plan_id, channel_key, day) DO UPDATE SET day = EXCLUDED.day
    """
)
# The company-time-zone hour an hourly fact's source hour starts in (``f`` a fact, ``s`` its
# source). A source hour that does not exist (spring forward) lands where PostgreSQL puts it.
HOUR_START = (
    "date_trunc('hour', (f.day + make_interval(hours => f.hour)) AT TIME ZONE s.timezone, "
    "CAST(:zone AS text))"
)
EXCLUDED_FACT = """EXISTS (
        SELECT 1 FROM metrics.fraud_flags AS x
        WHERE x.source_id = f.source_id AND x.entity = f.entity AND x.day = f.day
            AND x.status = 'excluded')"""
# Hourly rollups of a batch of plan-days, by the facts' own (source) day, as the daily ones. The
# hour bounds only let the delete use the (plan, hour) key: a source day's hours lie within a
# day and a few hours of it, whatever the zones.
CLEAR_HOURLY_ROLLUPS = text(
    """
    DELETE FROM metrics.hourly_rollups AS r
    USING unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    WHERE r.plan_id = d.plan_id AND r.day = d.day
        AND r.hour >= (d.day - 2)::timestamptz AND r.hour < (d.day + 3)::timestamptz
    """
)
FILL_HOURLY_ROLLUPS = text(
    "".join(  # constants only: the hour and exclusion expressions shared with HOURLY_ROWS
        (
            """
    INSERT INTO metrics.hourly_rollups
        (plan_id, hour, metric, channel_key, source_id, day, value_gross, value_net)
    SELECT f.plan_id, """,
            HOUR_START,
            """, f.metric, coalesce(f.channel_id::text, 'plan'), f.source_id,
        f.day, sum(c.value), sum(c.value) FILTER (WHERE NOT """,
            EXCLUDED_FACT,
            """)
    FROM unnest(CAST(:plans AS uuid[]), CAST(:days AS date[])) AS d(plan_id, day)
    JOIN metrics.facts AS f
        ON f.plan_id = d.plan_id AND f.day = d.day AND f.metric = ANY(CAST(:metrics AS text[]))
            AND f.hour <> -1
    JOIN metrics.sources AS s ON s.id = f.source_id""",
            IN_PLAN_CURRENCY,
            """
    WHERE c.value IS NOT NULL  -- money without a rate: the daily rollups report it missing
    GROUP BY 1, 2, 3, 4, 5, 6
    """,
        )
    )
)
# A plan's hours in [since, until) per channel and metric, sources summed: from the hourly
# rollups, except the source days still in dirty_days (``pending``), summed from facts.
HOURLY_ROWS = text(
    "".join(  # constants only
        (
            """
    SELECT hour, channel_key, metric, sum(gross), sum(net)
    FROM (
        SELECT r.hour, r.channel_key, r.metric, r.value_gross AS gross, r.value_net AS net
        FROM metrics.hourly_rollups AS r
        WHERE r.plan_id = :plan AND r.hour >= :since AND r.hour < :until
            AND r.metric = ANY(CAST(:metrics AS text[]))
            AND r.day <> ALL(CAST(:pending AS date[]))
        UNION ALL
        SELECT """,
            HOUR_START,
            """, coalesce(f.channel_id::text, 'plan'), f.metric, c.value,
            CASE WHEN NOT """,
            EXCLUDED_FACT,
            """ THEN c.value END
        FROM metrics.facts AS f
        JOIN metrics.sources AS s ON s.id = f.source_id""",
            IN_PLAN_CURRENCY,
            """
        WHERE f.plan_id = :plan AND f.day = ANY(CAST(:pending AS date[]))
            AND f.hour <> -1 AND f.metric = ANY(CAST(:metrics AS text[]))
            AND c.value IS NOT NULL
    ) AS rows
    WHERE hour >= :since AND hour < :until
    GROUP BY hour, channel_key, metric
    ORDER BY hour, channel_key, metric
    """,
        )
    )
)


def _counted() -> Any:
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
) -> Subquery:
    """(channel_key, source_id, day, metric, gross, net, entities) of a plan's company days in
    a window.

    Source days whose facts changed since the snapshot job last ran (``pending``: still in
    dirty_days) are summed from facts; every other day is read from its rollup rows.
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
    from_facts = rollup_rows(plan_id, fresh, metrics if metrics is not None else KNOWN_METRICS)
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
    return union_all(rollups.where(DailyRollup.source_day.not_in(fresh)), converted).subquery()


class MetricsRepository:
    """Sources, mappings, targets and fact aggregates in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        """Insert a row."""
        self.session.add(row)
        await self.session.flush()

    async def source(self, source_id: uuid.UUID) -> Source | None:
        """One source."""
        return await self.session.get(Source, source_id, with_for_update=True)

    async def sources(self) -> Sequence[Source]:
        """Every source by name."""
        return (await self.session.scalars(select(Source).order_by(Source.name))).all()

    async def upsert_mapping(
        self, source_id: uuid.UUID, entity: str, plan_id: uuid.UUID, channel_id: uuid.UUID | None
    ) -> None:
        """Map a platform campaign to a plan and channel."""
        statement = insert(Mapping).values(
            source_id=source_id, entity=entity, plan_id=plan_id, channel_id=channel_id
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[Mapping.source_id, Mapping.entity],
                set_={"plan_id": plan_id, "channel_id": channel_id},
            )
        )

    async def move_entity(
        self, source_id: uuid.UUID, entity: str, plan_id: uuid.UUID, channel_id: uuid.UUID | None
    ) -> None:
        """Carry a re-mapped campaign's facts and fraud flags to its new plan and channel, and
        mark the days of both the old and the new place for the snapshot job."""
        await self.session.execute(
            MOVE_ENTITY,
            {"source": source_id, "entity": entity, "plan": plan_id, "channel": channel_id},
        )

    async def target(self, plan_id: uuid.UUID) -> PlanTarget | None:
        """A plan's targets as planning last published them."""
        return await self.session.get(PlanTarget, plan_id)

    async def pending_days(self, plan_id: uuid.UUID) -> list[date]:
        """A plan's days whose facts changed and whose rollups are not yet recomputed."""
        query = select(DirtyDay.day).where(DirtyDay.plan_id == plan_id).distinct()
        return list((await self.session.scalars(query)).all())

    async def _rows(
        self,
        plan_id: uuid.UUID,
        first: date | None,
        last: date,
        metrics: Sequence[str] | None = None,
    ) -> Subquery:
        return day_rows(plan_id, first, last, await self.pending_days(plan_id), metrics)

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
        rows = await self.session.execute(
            HOURLY_ROWS,
            {
                "plan": plan_id,
                "since": since,
                "until": until,
                "metrics": list(metrics),
                "pending": await self.pending_days(plan_id),
                "zone": zone,
                **CURRENCY_PARAMS,
            },
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

    async def mapped_sources(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Each (source, plan) pair a mapping connects: the sources expected to report."""
        query = select(Mapping.source_id, Mapping.plan_id).distinct()
        return [(s, p) for s, p in (await self.session.execute(query)).all()]

    async def has_facts(self, source_id: uuid.UUID, day: date) -> bool:
        """True when the source reported anything for that day."""
        query = select(Fact.metric).where(Fact.source_id == source_id, Fact.day == day).limit(1)
        return (await self.session.scalars(query)).first() is not None

    async def claim_late_notice(self, source_id: uuid.UUID, plan_id: uuid.UUID, day: date) -> bool:
        """Record a late notice once; False when this source, plan and day already had one."""
        claimed = await self.session.execute(
            insert(LateNotice)
            .values(source_id=source_id, plan_id=plan_id, business_day=day)
            .on_conflict_do_nothing()
            .returning(LateNotice.source_id)
        )
        return claimed.first() is not None

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

    async def facts_between(
        self, first: date, last: date, metrics: Sequence[str]
    ) -> list[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID, str, date, str, Decimal]]:
        """(plan, channel, source, entity, day, metric, value) of mapped facts in a window; an
        entity-day reported by the hour has its hours summed (as ``_counted`` says)."""
        keys = (Fact.plan_id, Fact.channel_id, Fact.source_id, Fact.entity, Fact.day, Fact.metric)
        query = (
            select(*keys, func.sum(Fact.value))
            .where(
                Fact.plan_id.is_not(None),
                Fact.day >= first,
                Fact.day <= last,
                Fact.metric.in_(metrics),
                _counted(),
            )
            .group_by(*keys)
        )
        return [
            (p, c, s, e, d, m, v)
            for p, c, s, e, d, m, v in (await self.session.execute(query)).all()
            if p is not None
        ]

    async def entity_day(
        self, source_id: uuid.UUID, entity: str, day: date
    ) -> tuple[uuid.UUID | None, uuid.UUID | None] | None:
        """The plan and channel an entity-day's facts carry, None when it has no facts."""
        query = (
            select(Fact.plan_id, Fact.channel_id)
            .where(Fact.source_id == source_id, Fact.entity == entity, Fact.day == day)
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def claim_fraud_flag(self, values: dict[str, Any]) -> bool:
        """Record a flag once; False when that entity-day already has one for the signal."""
        claimed = await self.session.execute(
            insert(FraudFlag).values(**values).on_conflict_do_nothing().returning(FraudFlag.id)
        )
        return claimed.first() is not None

    async def fraud_flags(self, plan_id: uuid.UUID, status: str | None) -> Sequence[FraudFlag]:
        """A plan's flags, newest day first."""
        query = select(FraudFlag).where(FraudFlag.plan_id == plan_id)
        if status is not None:
            query = query.where(FraudFlag.status == status)
        query = query.order_by(
            FraudFlag.day.desc(), FraudFlag.entity, FraudFlag.signal, FraudFlag.id
        )
        return (await self.session.scalars(query)).all()

    async def fraud_flag(self, flag_id: uuid.UUID) -> FraudFlag | None:
        """One flag, locked for a decision."""
        return await self.session.get(FraudFlag, flag_id, with_for_update=True)

    async def mark_dirty(self, plan_id: uuid.UUID, channel_id: uuid.UUID | None, day: date) -> None:
        """Have the snapshot job republish a plan-day (e.g. after an exclusion changed net)."""
        keys = {"plan", str(channel_id or "plan")}
        await self.session.execute(
            insert(DirtyDay)
            .values([{"plan_id": plan_id, "channel_key": k, "day": day} for k in sorted(keys)])
            .on_conflict_do_nothing()
        )

    async def excluded_entity_days(self, plan_id: uuid.UUID, until: date) -> int:
        """How many entity-days of a plan up to a day are excluded from net figures."""
        days = (
            select(FraudFlag.source_id, FraudFlag.entity, FraudFlag.day)
            .where(
                FraudFlag.plan_id == plan_id, FraudFlag.day <= until, FraudFlag.status == EXCLUDED
            )
            .distinct()
            .subquery()
        )
        return int(await self.session.scalar(select(func.count()).select_from(days)) or 0)

    async def settlement_days(self, plan_id: uuid.UUID) -> int | None:
        """The longest settlement window of the sources mapped to a plan (None: no source)."""
        query = (
            select(func.max(Source.settlement_days))
            .join(Mapping, Mapping.source_id == Source.id)
            .where(Mapping.plan_id == plan_id)
        )
        found = await self.session.scalar(query)
        return None if found is None else int(found)

    async def last_day(self, plan_id: uuid.UUID, until: date) -> date | None:
        """The latest day with facts for a plan, up to a day."""
        query = select(func.max(Fact.day)).where(Fact.plan_id == plan_id, Fact.day <= until)
        found: date | None = await self.session.scalar(query)
        return found

    async def decomposition(
        self, plan_id: uuid.UUID, objective_id: uuid.UUID
    ) -> Decomposition | None:
        """An objective's target tree as planning last published it."""
        return await self.session.get(Decomposition, (plan_id, objective_id))

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
                _counted(),
            )
            .group_by(Fact.source_id, Fact.entity, Fact.metric)
        )
        found: dict[tuple[uuid.UUID, str], dict[str, Decimal]] = {}
        for source_id, entity, metric, total in (await self.session.execute(query)).all():
            found.setdefault((source_id, entity), {})[metric] = total
        return found

    async def derived_metrics(self) -> Sequence[DerivedMetric]:
        """Every derived metric by key."""
        return (await self.session.scalars(select(DerivedMetric).order_by(DerivedMetric.key))).all()

    async def derived_metric(self, key: str) -> DerivedMetric | None:
        """One derived metric, locked for a redefinition."""
        return await self.session.get(DerivedMetric, key, with_for_update=True)

    async def fx_rate(self, base: str, quote: str, valid_from: date) -> FxRate | None:
        """One stored rate, locked for a change."""
        return await self.session.get(FxRate, (base, quote, valid_from), with_for_update=True)

    async def next_fx_rate_day(self, base: str, quote: str, after: date) -> date | None:
        """The day the pair's next rate (either direction) takes over from one set on ``after``."""
        query = select(func.min(FxRate.valid_from)).where(
            tuple_(FxRate.base, FxRate.quote).in_([(base, quote), (quote, base)]),
            FxRate.valid_from > after,
        )
        found: date | None = await self.session.scalar(query)
        return found

    async def fx_rates(
        self, base: str | None, quote: str | None
    ) -> list[tuple[FxRate, date | None]]:
        """Stored rates by pair and day, each with the day its pair's next rate takes over."""
        pair = (func.least(FxRate.base, FxRate.quote), func.greatest(FxRate.base, FxRate.quote))
        ranked = select(
            FxRate,
            func.lead(FxRate.valid_from)
            .over(partition_by=pair, order_by=FxRate.valid_from)
            .label("until"),
        ).subquery()
        rate = aliased(FxRate, ranked)
        query = select(rate, ranked.c.until).order_by(rate.base, rate.quote, rate.valid_from)
        if base is not None:
            query = query.where(rate.base == base)
        if quote is not None:
            query = query.where(rate.quote == quote)
        return [(r, until) for r, until in (await self.session.execute(query)).all()]

    async def mark_rate_dirty(
        self, base: str, quote: str, valid_from: date, until: date | None
    ) -> None:
        """Have the snapshot job recompute the plan-days a rate set on a day converts."""
        await self.session.execute(
            MARK_RATE_DIRTY,
            {"base": base, "quote": quote, "valid_from": valid_from, "until": until}
            | CURRENCY_PARAMS,
        )

    async def mark_money_dirty(self, plan_id: uuid.UUID) -> None:
        """Have the snapshot job recompute every day of a plan that has money facts."""
        await self.session.execute(MARK_MONEY_DIRTY, {"plan": plan_id} | CURRENCY_PARAMS)

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
            fresh = rollup_rows(plan_id, pending, metrics)
            query = union_all(
                rolled.where(DailyRollup.source_day.not_in(pending)),
                select(fresh.c.unconverted_currency, fresh.c.day).where(
                    fresh.c.unconverted_currency.is_not(None),
                    fresh.c.day >= first,
                    fresh.c.day <= last,
                ),
            )
        return [(c, d) for c, d in (await self.session.execute(query)).all()]
