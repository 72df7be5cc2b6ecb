"""Fraud review: the periodic scan that raises suspicions, and reviewers' flags and decisions."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.fraud import signals as fraud
from services.metrics.fraud.repository import FraudRepository
from services.metrics.models import FraudFlag, idempotency, outbox
from services.metrics.schemas import (
    FraudDecision,
    FraudFlagCreate,
    FraudFlagRead,
)
from shared.contract.events.metrics import (
    FraudSuspectedV1,
)
from shared.kit.errors import Conflict, NotFound
from shared.kit.jobs import PeriodicJob
from shared.kit.pagination import Page, PageWindow, page_of
from shared.kit.settings import Settings

FRAUD_METRICS = (*fraud.SPIKE_METRICS, fraud.RETENTION_METRIC, "clicks", "impressions")
SYSTEM = "system"
MANUAL = "manual"
EntityDay = tuple[uuid.UUID, uuid.UUID, str, date]  # plan, source, entity, day


async def scan_fraud(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Run the fraud signals on the recent days of every plan; each fires once per entity-day.

    A new signal becomes a ``suspected`` flag (the flag's unique key is the claim) and one
    fraud-suspected event; a later run finds the flag and publishes nothing. The arrivals job
    (arrivals.py) runs the same examination within a minute of a batch; this scan is its
    backstop.
    """
    today = company_day(now, settings)
    await examine_plan_days(
        session, now, today - timedelta(days=fraud.DEFAULTS.lookback_days - 1), today
    )


def company_day(now: datetime, settings: Settings) -> date:
    """Today in the company time zone."""
    return now.astimezone(ZoneInfo(settings.company_timezone)).date()


async def examine_plan_days(
    session: AsyncSession,
    now: datetime,
    first: date,
    last: date,
    only: Collection[tuple[uuid.UUID, date]] | None = None,
) -> None:
    """Examine every entity-day of the plan-days from ``first`` to ``last`` (or of ``only``
    those plan-days): each against its own history and its peers of the same plan-day."""
    thresholds = fraud.DEFAULTS
    repo = FraudRepository(session)
    values: dict[EntityDay, dict[str, Decimal]] = defaultdict(dict)
    channels: dict[EntityDay, uuid.UUID | None] = {}
    plans = None if only is None else sorted({plan_id for plan_id, _ in only})
    for plan_id, channel_id, source_id, entity, day, metric, value in await repo.facts_between(
        first - timedelta(days=thresholds.history_days), last, FRAUD_METRICS, plans
    ):
        values[(plan_id, source_id, entity, day)][metric] = value
        channels[(plan_id, source_id, entity, day)] = channel_id
    by_plan_day: dict[tuple[uuid.UUID, date], list[EntityDay]] = defaultdict(list)
    for key in values:
        by_plan_day[(key[0], key[3])].append(key)
    for (plan_id, day), keys in sorted(by_plan_day.items(), key=lambda item: item[0][1]):
        if day < first or (only is not None and (plan_id, day) not in only):
            continue
        for key in sorted(keys, key=lambda k: (str(k[1]), k[2])):
            _plan, source_id, entity, _day = key
            history = {
                metric: [
                    earlier[metric]
                    for back in range(1, thresholds.history_days + 1)
                    if (earlier := values.get((plan_id, source_id, entity, day - timedelta(back))))
                    and metric in earlier
                ]
                for metric in fraud.SPIKE_METRICS
            }
            peers = [values[k] for k in keys if k != key]
            kin = [values[k] for k in keys if k != key and k[1] == source_id]
            for signal in fraud.examine(values[key], history, peers, thresholds, kin):
                await _suspect(session, key, channels[key], signal, now)


async def _suspect(
    session: AsyncSession,
    key: EntityDay,
    channel_id: uuid.UUID | None,
    signal: fraud.Signal,
    now: datetime,
) -> None:
    plan_id, source_id, entity, day = key
    claimed = await FraudRepository(session).claim_fraud_flag(
        {
            "id": uuid.uuid4(),
            "source_id": source_id,
            "entity": entity,
            "day": day,
            "signal": signal.signal,
            "plan_id": plan_id,
            "channel_id": channel_id,
            "score": signal.score,
            "detail": signal.detail,
            "status": "suspected",
            "flagged_by": SYSTEM,
            "flagged_at": now,
        }
    )
    if claimed:
        await outbox.record(
            session,
            FraudSuspectedV1(
                plan_id=plan_id,
                channel_id=channel_id,
                channel_code=entity,
                day=day,
                signal=signal.signal,
                detail=signal.detail,
                score=signal.score,
            ),
            subject=str(plan_id),
        )


def _flag_read(flag: FraudFlag) -> FraudFlagRead:
    return FraudFlagRead.model_validate(flag, from_attributes=True)


async def fraud_flags(
    session: AsyncSession, plan_id: uuid.UUID, status: str | None, window: PageWindow
) -> Page[FraudFlagRead]:
    """A page of a plan's fraud flags (optionally of one status), newest day first."""
    rows = await FraudRepository(session).fraud_flags(plan_id, status, window)
    return page_of(rows, window, lambda f: (f.day, f.id), _flag_read)


async def flag_entity_day_once(
    session: AsyncSession,
    plan_id: uuid.UUID,
    data: FraudFlagCreate,
    who: str,
    now: datetime,
    key: str | None,
) -> FraudFlagRead:
    """Flag an entity-day by hand, once per Idempotency-Key (bound to the plan)."""
    return await idempotency.run(
        session,
        key=key,
        principal=who,
        scope=f"POST /metrics/plans/{plan_id}/fraud-flags",
        request=data,
        produce=lambda: flag_entity_day(session, plan_id, data, who, now),
        model=FraudFlagRead,
    )


async def flag_entity_day(
    session: AsyncSession, plan_id: uuid.UUID, data: FraudFlagCreate, who: str, now: datetime
) -> FraudFlagRead:
    """A reviewer flags an entity-day by hand (suspected, or excluded straight away)."""
    repo = FraudRepository(session)
    carried = await repo.entity_day(data.source_id, data.entity, data.day)
    if carried is None or carried[0] != plan_id:
        raise NotFound(f"plan {plan_id} has no facts of {data.entity} on {data.day}")
    flag_id = uuid.uuid4()
    excluded = data.status == "excluded"
    claimed = await repo.claim_fraud_flag(
        {
            "id": flag_id,
            "source_id": data.source_id,
            "entity": data.entity,
            "day": data.day,
            "signal": MANUAL,
            "plan_id": plan_id,
            "channel_id": carried[1],
            "score": Decimal(0),
            "detail": data.reason,
            "status": data.status,
            "flagged_by": who,
            "flagged_at": now,
            "decided_by": who if excluded else None,
            "decided_at": now if excluded else None,
        }
    )
    if not claimed:
        raise Conflict(f"{data.entity} on {data.day} is already flagged by hand", rule="one-flag")
    if excluded:
        await repo.mark_dirty(plan_id, carried[1], data.day)
    flag = await repo.fraud_flag(flag_id)
    assert flag is not None  # noqa: S101 — inserted just above
    return _flag_read(flag)


async def decide_fraud_flag(
    session: AsyncSession,
    plan_id: uuid.UUID,
    flag_id: uuid.UUID,
    decision: FraudDecision,
    who: str,
    now: datetime,
) -> FraudFlagRead:
    """Exclude the flagged entity-day from net figures, or clear it; the snapshot follows."""
    repo = FraudRepository(session)
    flag = await repo.fraud_flag(flag_id)
    if flag is None or flag.plan_id != plan_id:
        raise NotFound(f"plan {plan_id} has no fraud flag {flag_id}")
    was_excluded = flag.status == "excluded"
    flag.status, flag.note = decision.status, decision.note
    flag.decided_by, flag.decided_at = who, now
    await session.flush()
    if was_excluded != (decision.status == "excluded"):
        await repo.mark_dirty(flag.plan_id, flag.channel_id, flag.day)
    return _flag_read(flag)


JOBS = [PeriodicJob("metrics-fraud", scan_fraud, interval_seconds=600)]
