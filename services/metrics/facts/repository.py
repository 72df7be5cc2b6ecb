"""Queries over stored facts outside the ingest hot path; reads only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVarTuple

from sqlalchemy import Select, exists, func, or_, select, text
from sqlalchemy.orm import aliased

from services.metrics.models import WHOLE_DAY, Fact, FraudFlag
from services.metrics.repository import Repository

Ts = TypeVarTuple("Ts")
EXCLUDED = "excluded"

# The facts of some plans' (:plans) days (:days) and metrics (:metrics) as the system knew them
# at :known_at, read from the revisions: of a key's revisions whose delivery had been received
# by then, the one of the newest report, and on a tie the first received. That is the
# restatement rule (restatement.restates; sql.NEWER_REPORT_WINS in the upsert) applied in the
# order the revisions arrived, so the last fact standing is the one the upsert left then
# (tests/metrics/test_known_at.py runs the rule and this read on the same cases). A key keeps
# the plan and channel its fact carries now: mappings are not versioned.
KNOWN_FACTS = """
    SELECT DISTINCT ON (r.source_id, r.entity, r.day, r.hour, r.metric)
        r.source_id, r.entity, r.day, r.hour, r.metric, r.value, r.reported_at,
        f.plan_id, f.channel_id
    FROM metrics.facts AS f
    JOIN metrics.fact_revisions AS r
        ON r.source_id = f.source_id AND r.entity = f.entity AND r.day = f.day
            AND r.hour = f.hour AND r.metric = f.metric
    JOIN metrics.deliveries AS dl
        ON dl.source_id = r.source_id AND dl.delivery_id = r.delivery_id
    WHERE f.plan_id = ANY(CAST(:plans AS uuid[])) AND f.day = ANY(CAST(:days AS date[]))
        AND f.metric = ANY(CAST(:metrics AS text[])) AND dl.received_at <= :known_at
    ORDER BY r.source_id, r.entity, r.day, r.hour, r.metric, r.reported_at DESC, r.id
"""
WITH_KNOWN = "".join(("WITH known AS (", KNOWN_FACTS, ")"))
# Whether a fact ``f``'s entity-day is excluded as fraudulent; as known at :known_at, only by an
# exclusion decided by then (a flag keeps its latest decision only: one excluded then and
# cleared since counts as never excluded).
_EXCLUDED_FLAG = """EXISTS (
        SELECT 1 FROM metrics.fraud_flags AS x
        WHERE x.source_id = f.source_id AND x.entity = f.entity AND x.day = f.day
            AND x.status = 'excluded'"""
EXCLUDED_FACT = "".join((_EXCLUDED_FLAG, ")"))
EXCLUDED_KNOWN = "".join((_EXCLUDED_FLAG, " AND x.decided_at <= :known_at)"))


def counted_in(facts: str) -> str:
    """``counted`` in SQL, for a fact ``f`` of ``facts`` (a table of the facts' shape): hours
    count only for a day without its whole-day fact."""
    return "".join(  # constants only
        (
            """(f.hour = -1 OR NOT EXISTS (
        SELECT 1 FROM """,
            facts,
            """ AS w
        WHERE w.source_id = f.source_id AND w.entity = f.entity AND w.day = f.day
            AND w.hour = -1 AND w.metric = f.metric))""",
        )
    )


# Each entity's metric sums over a window (:first to :last), of a plan's facts as known at
# :known_at, net of the exclusions decided by then.
KNOWN_ENTITY_SUMS = "".join(  # constants only
    (
        WITH_KNOWN,
        """
    SELECT f.source_id, f.entity, f.metric, sum(f.value)
    FROM known AS f
    WHERE f.entity = ANY(CAST(:entities AS text[])) AND f.day BETWEEN :first AND :last
        AND """,
        counted_in("known"),
        """
        AND NOT """,
        EXCLUDED_KNOWN,
        """
    GROUP BY f.source_id, f.entity, f.metric
""",
    )
)


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

    async def days(self, plan_id: uuid.UUID) -> list[date]:
        """Every day a plan has facts on."""
        query = select(Fact.day).where(Fact.plan_id == plan_id).distinct()
        return list((await self.session.scalars(query)).all())

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
        known_at: datetime | None = None,
    ) -> dict[tuple[uuid.UUID, str], dict[str, Decimal]]:
        """Each entity's metric sums over a window, of its facts mapped to the plan, net of the
        entity-days excluded as fraudulent (rollups do not keep entities: facts are read); with
        ``known_at``, of the facts and exclusions as known then."""
        if not entities:
            return {}
        query: Any = net_of_exclusions(
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
        if known_at is not None:
            query = text(KNOWN_ENTITY_SUMS).bindparams(
                plans=[plan_id],
                days=[first + timedelta(days=n) for n in range((last - first).days + 1)],
                metrics=list(metrics),
                known_at=known_at,
                entities=sorted(set(entities)),
                first=first,
                last=last,
            )
        found: dict[tuple[uuid.UUID, str], dict[str, Decimal]] = {}
        for source_id, entity, metric, total in (await self.session.execute(query)).all():
            found.setdefault((source_id, entity), {})[metric] = total
        return found
