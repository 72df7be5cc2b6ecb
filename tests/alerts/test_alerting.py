"""Alerting on a controllable clock: the seed's CTR case, silences, inhibition, repeats,
escalation and a notification endpoint that is down."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import jobs, service
from services.alerts.models import Alert, Channel, Notification, bus
from services.alerts.repository import AlertRepository
from services.alerts.schemas import SilenceCreate
from shared.contract.events.metrics import FraudSuspectedV1, KpiSnapshotV1, ObjectiveAchievement
from shared.contract.events.planning import ObjectiveTarget, PlanTargetsSetV1
from shared.contract.types import ObjectiveType, TargetKind
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.settings import Settings

T0 = datetime(2024, 6, 7, 9, 0, tzinfo=UTC)
PLAN = uuid.uuid4()
CTR_OBJECTIVE = uuid.uuid4()


class Receiver:
    """Local webhook endpoints: records what arrives, and can be down."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, object]]] = []
        self.down: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down:
            return httpx.Response(503)
        self.received.append((host, json.loads(request.content)))
        return httpx.Response(200)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    jobs.TRANSPORT = httpx.MockTransport(endpoint)
    yield endpoint
    jobs.TRANSPORT = None


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    made = create_sessionmaker(engine)
    async with made() as session, session.begin():
        session.add_all(
            [
                Channel(
                    id="default", url="http://team.test/hook", secret="s" * 16, escalation_level=0
                ),
                Channel(
                    id="backup", url="http://backup.test/hook", secret="s" * 16, escalation_level=0
                ),
                Channel(
                    id="manager",
                    url="http://manager.test/hook",
                    secret="s" * 16,
                    escalation_level=1,
                ),
            ]
        )
        await service.on_targets(session, targets())
    return made


def targets() -> PlanTargetsSetV1:
    return PlanTargetsSetV1(
        plan_id=PLAN,
        version=1,
        name="618",
        owner_id="manager-li",
        starts_on=date(2024, 5, 1),
        ends_on=date(2024, 7, 31),
        currency="CNY",
        objectives=[
            ObjectiveTarget(
                objective_id=CTR_OBJECTIVE,
                type=ObjectiveType.CUSTOM,
                metric="ctr",
                target_kind=TargetKind.ABSOLUTE,
                target_value=Decimal("0.015"),
                owner_id="optimiser-he",
                due_on=date(2024, 6, 15),
            )
        ],
        channels=[],
    )


def ctr(value: str) -> KpiSnapshotV1:
    return KpiSnapshotV1(
        plan_id=PLAN,
        plan_version=1,
        as_of=T0,
        objectives=[
            ObjectiveAchievement(
                objective_id=CTR_OBJECTIVE,
                metric="ctr",
                target=Decimal("0.015"),
                actual=Decimal(value),
                achievement=Decimal(value) / Decimal("0.015"),
            )
        ],
    )


async def _run(sessions: async_sessionmaker[AsyncSession], action: object, now: datetime) -> None:
    async with sessions() as session, session.begin():
        if isinstance(action, KpiSnapshotV1):
            await service.on_kpi_snapshot(session, action, now)
        elif isinstance(action, FraudSuspectedV1):
            await service.on_event(
                session, action.event_type, action.plan_id, action.plan_id, "fraud", now
            )
        elif isinstance(action, SilenceCreate):
            await service.create_silence(session, action, "supervisor-wang")
        else:
            await action(session, now, Settings())  # type: ignore[operator]


async def _alerts(engine: AsyncEngine) -> list[Alert]:
    async with create_sessionmaker(engine)() as session:
        return list(await session.scalars(select(Alert).order_by(Alert.started_at)))


async def _events(engine: AsyncEngine, event_type: str) -> int:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(bus.outbox.c.id).where(bus.outbox.c.event_type == event_type)
        )
        return len(rows.all())


async def test_ctr_twenty_percent_below_target_fires_once_and_resolves_with_notice(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _run(sessions, ctr("0.012"), T0)  # 1.2 % against 1.5 %: exactly 20 % below
    await _run(sessions, ctr("0.012"), T0 + timedelta(minutes=5))
    (alert,) = await _alerts(engine)
    assert (alert.state, alert.severity) == ("firing", "warning")
    assert await _events(engine, "alerts.alert.raised") == 1
    await _run(sessions, ctr("0.013"), T0 + timedelta(minutes=10))  # inside the hysteresis band
    assert (await _alerts(engine))[0].state == "firing"
    await _run(sessions, ctr("0.016"), T0 + timedelta(minutes=15))
    (alert,) = await _alerts(engine)
    assert alert.state == "resolved"
    assert await _events(engine, "alerts.alert.resolved") == 1
    await _run(sessions, jobs.deliver, T0 + timedelta(minutes=16))
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
    await _run(sessions, silence, T0)
    await _run(sessions, ctr("0.011"), T0)
    await _run(sessions, jobs.deliver, T0)
    (alert,) = await _alerts(engine)
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
    await _run(sessions, fraud, T0)
    await _run(sessions, ctr("0.011"), T0)
    await _run(sessions, jobs.deliver, T0)
    severities = sorted(a.severity for a in await _alerts(engine))
    assert severities == ["critical", "warning"]
    assert [body["severity"] for _h, body in receiver.received] == ["critical"]


async def test_unacknowledged_alerts_repeat_with_backoff_and_critical_ones_escalate(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _run(sessions, ctr("0.011"), T0)
    for minutes in (60, 239):
        await _run(sessions, jobs.watch, T0 + timedelta(minutes=minutes))
    async with sessions() as session:
        kinds = [n.kind for n in await session.scalars(select(Notification))]
    assert kinds == ["firing"]
    await _run(sessions, jobs.watch, T0 + timedelta(hours=4))
    await _run(sessions, jobs.watch, T0 + timedelta(hours=11))  # 7 h after the repeat: not yet
    await _run(sessions, jobs.watch, T0 + timedelta(hours=12))  # 8 h after it
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
    await _run(sessions, fraud, T0)
    await _run(sessions, jobs.watch, T0 + timedelta(minutes=29))
    assert await _events(engine, "alerts.alert.escalated") == 0
    await _run(sessions, jobs.watch, T0 + timedelta(minutes=31))
    assert await _events(engine, "alerts.alert.escalated") == 1
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
    await _run(sessions, ctr("0.011"), T0)
    await _run(sessions, jobs.deliver, T0)
    await _run(sessions, jobs.deliver, T0 + timedelta(seconds=10))  # before the retry is due
    assert [h for h, _b in receiver.received] == ["backup.test"]
    async with sessions() as session:
        (stuck,) = await session.scalars(
            select(Notification).where(Notification.channel_id == "default")
        )
    assert stuck.status == "pending"
    assert [a["outcome"] for a in stuck.attempts] == ["HTTP 503"]
    assert stuck.next_attempt_at == T0 + timedelta(seconds=30)
    receiver.down.clear()
    await _run(sessions, jobs.deliver, T0 + timedelta(seconds=31))
    assert [h for h, _b in receiver.received] == ["backup.test", "team.test"]
