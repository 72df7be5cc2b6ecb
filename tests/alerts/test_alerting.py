"""Alerting on a controllable clock: the seed's CTR case, silences, inhibition, repeats,
escalation and a notification endpoint that is down."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import jobs
from services.alerts.models import Notification
from services.alerts.repository import AlertRepository
from services.alerts.schemas import SilenceCreate
from shared.contract.events.metrics import FraudSuspectedV1
from tests.alerts.scenario import PLAN, T0, Receiver, alerts_of, ctr, events_of, run


async def test_ctr_twenty_percent_below_target_fires_once_and_resolves_with_notice(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await run(sessions, ctr("0.012"), T0)  # 1.2 % against 1.5 %: exactly 20 % below
    await run(sessions, ctr("0.012"), T0 + timedelta(minutes=5))
    (alert,) = await alerts_of(engine)
    assert (alert.state, alert.severity) == ("firing", "warning")
    assert await events_of(engine, "alerts.alert.raised") == 1
    await run(sessions, ctr("0.013"), T0 + timedelta(minutes=10))  # inside the hysteresis band
    assert (await alerts_of(engine))[0].state == "firing"
    await run(sessions, ctr("0.016"), T0 + timedelta(minutes=15))
    (alert,) = await alerts_of(engine)
    assert alert.state == "resolved"
    assert await events_of(engine, "alerts.alert.resolved") == 1
    await run(sessions, jobs.deliver, T0 + timedelta(minutes=16))
    assert [(host, body["kind"]) for host, body in receiver.received] == [
        ("team.test", "firing"),
        ("team.test", "resolved"),
    ]


async def test_a_matching_silence_mutes_the_notification_not_the_alert(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    silence = SilenceCreate(
        matchers={"plan_id": str(PLAN)},
        starts_at=T0 - timedelta(hours=1),
        ends_at=T0 + timedelta(hours=1),
        comment="creative swap in progress",
    )
    await run(sessions, silence, T0)
    await run(sessions, ctr("0.011"), T0)
    await run(sessions, jobs.deliver, T0)
    (alert,) = await alerts_of(engine)
    assert alert.state == "firing"
    assert receiver.received == []
    async with sessions() as session:
        outcomes = [e.outcome for e in await AlertRepository(session).evaluations(alert.id)]
    assert any(o.startswith("silenced by") for o in outcomes)


async def test_a_critical_alert_on_the_plan_inhibits_its_warnings(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    fraud = FraudSuspectedV1(
        plan_id=PLAN,
        channel_code="campus-17",
        day=date(2024, 6, 7),
        signal="retention",
        detail="day-1 retention 3% vs 41% peers",
        score=Decimal(9),
    )
    await run(sessions, fraud, T0)
    await run(sessions, ctr("0.011"), T0)
    await run(sessions, jobs.deliver, T0)
    severities = sorted(a.severity for a in await alerts_of(engine))
    assert severities == ["critical", "warning"]
    assert [body["severity"] for _h, body in receiver.received] == ["critical"]


async def test_unacknowledged_alerts_repeat_with_backoff_and_critical_ones_escalate(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await run(sessions, ctr("0.011"), T0)
    for minutes in (60, 239):
        await run(sessions, jobs.watch, T0 + timedelta(minutes=minutes))
    async with sessions() as session:
        kinds = [n.kind for n in await session.scalars(select(Notification))]
    assert kinds == ["firing"]
    await run(sessions, jobs.watch, T0 + timedelta(hours=4))
    await run(sessions, jobs.watch, T0 + timedelta(hours=11))  # 7 h after the repeat: not yet
    await run(sessions, jobs.watch, T0 + timedelta(hours=12))  # 8 h after it
    async with sessions() as session:
        kinds = [
            n.kind
            for n in await session.scalars(
                select(Notification).order_by(Notification.next_attempt_at)
            )
        ]
    assert kinds == ["firing", "repeat", "repeat"]

    fraud = FraudSuspectedV1(
        plan_id=PLAN,
        channel_code="c",
        day=date(2024, 6, 7),
        signal="spike",
        detail="x",
        score=Decimal(5),
    )
    await run(sessions, fraud, T0)
    await run(sessions, jobs.watch, T0 + timedelta(minutes=29))
    assert await events_of(engine, "alerts.alert.escalated") == 0
    await run(sessions, jobs.watch, T0 + timedelta(minutes=31))
    assert await events_of(engine, "alerts.alert.escalated") == 1
    async with sessions() as session:
        escalations = [
            n.channel_id
            for n in await session.scalars(
                select(Notification).where(Notification.kind == "escalation")
            )
        ]
    assert escalations == ["manager"]


async def test_a_down_endpoint_is_retried_with_backoff_and_others_are_unaffected(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    async with sessions() as session, session.begin():
        for rule in await AlertRepository(session).default_rules(PLAN):
            rule.channels = ["default", "backup"]
    receiver.down.add("team.test")
    await run(sessions, ctr("0.011"), T0)
    await run(sessions, jobs.deliver, T0)
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=10))  # before the retry is due
    assert [h for h, _b in receiver.received] == ["backup.test"]
    async with sessions() as session:
        (stuck,) = await session.scalars(
            select(Notification).where(Notification.channel_id == "default")
        )
    assert stuck.status == "pending"
    assert [a["outcome"] for a in stuck.attempts] == ["HTTP 503"]
    assert stuck.next_attempt_at == T0 + timedelta(seconds=30)
    receiver.down.clear()
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=31))
    assert [h for h, _b in receiver.received] == ["backup.test", "team.test"]
