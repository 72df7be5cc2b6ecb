"""An older day never overrules a newer one, in whatever order metrics publishes them.

Seen on the Kafka bus: an alert that fired on the 06-07 figures was resolved a second later by
the 05-24 figures, and the team's webhook got a 'resolved' for an alert it never heard of.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import configuration, jobs
from services.alerts.schemas import RuleCreate
from shared.contract.events.metrics import KpiSnapshotV1, MetricsUpdatedV1, MetricValue
from tests.alerts.scenario import PLAN, T0, Receiver, alerts_of, ctr, run

FEED = uuid.uuid4()


async def _ctr_floor(sessions: async_sessionmaker[AsyncSession]) -> None:
    """CTR below 1.5 % on any channel-day breaches, once is enough to fire."""
    async with sessions() as session, session.begin():
        await configuration.create_rule(
            session,
            RuleCreate.model_validate(
                {
                    "name": "ctr floor",
                    "plan_id": PLAN,
                    "kind": "threshold",
                    "metric": "ctr",
                    "direction": "below",
                    "threshold": "0.015",
                    "channels": ["default"],
                }
            ),
        )


def _day(day: date, value: str) -> MetricsUpdatedV1:
    return MetricsUpdatedV1(
        plan_id=PLAN,
        channel_id=FEED,
        day=day,
        as_of=T0,
        values=[MetricValue(metric="ctr", value=Decimal(value))],
    )


async def test_an_older_day_arriving_later_does_not_resolve_what_a_newer_day_fired(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _ctr_floor(sessions)
    await run(sessions, _day(date(2024, 6, 7), "0.012"), T0)  # 1.2 %: fires
    await run(sessions, _day(date(2024, 5, 24), "0.018"), T0 + timedelta(seconds=1))
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=2))

    [alert] = await alerts_of(engine)
    assert alert.state == "firing"
    assert "on 2024-06-07" in alert.summary
    assert [n["kind"] for _, n in receiver.received] == ["firing"]


async def test_an_older_day_arriving_later_does_not_raise_what_a_newer_day_cleared(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _ctr_floor(sessions)
    await run(sessions, _day(date(2024, 6, 7), "0.018"), T0)
    await run(sessions, _day(date(2024, 5, 24), "0.012"), T0 + timedelta(seconds=1))
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=2))

    assert await alerts_of(engine) == []
    assert receiver.received == []


async def test_a_restated_day_is_judged_again_and_a_newer_day_still_resolves(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _ctr_floor(sessions)
    await run(sessions, _day(date(2024, 6, 7), "0.018"), T0)
    await run(sessions, _day(date(2024, 6, 7), "0.012"), T0 + timedelta(seconds=1))  # restated
    [alert] = await alerts_of(engine)
    assert alert.state == "firing"
    await run(sessions, _day(date(2024, 6, 8), "0.016"), T0 + timedelta(seconds=2))
    [alert] = await alerts_of(engine)
    assert alert.state == "resolved"


async def test_an_older_kpi_snapshot_delivered_late_is_ignored(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    newer: KpiSnapshotV1 = ctr("0.012").model_copy(update={"as_of": T0 + timedelta(minutes=5)})
    older = ctr("0.018")  # as of T0
    await run(sessions, newer, T0 + timedelta(minutes=5))
    await run(sessions, older, T0 + timedelta(minutes=6))
    states = [a.state for a in await alerts_of(engine)]
    assert states == ["firing"]
