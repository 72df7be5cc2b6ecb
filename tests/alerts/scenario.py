"""A plan with a CTR objective, local webhook endpoints and a clock the test controls."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import configuration, jobs, judging
from services.alerts.models import Alert, Channel, bus
from services.alerts.schemas import SilenceCreate
from shared.contract.events.metrics import (
    FraudSuspectedV1,
    KpiSnapshotV1,
    MetricsUpdatedV1,
    ObjectiveAchievement,
)
from shared.contract.events.planning import ObjectiveTarget, PlanTargetsSetV1
from shared.contract.types import ObjectiveType, TargetKind
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.secrets import secret_box
from shared.kit.settings import Settings

T0 = datetime(2024, 6, 7, 9, 0, tzinfo=UTC)
PLAN = uuid.uuid4()
CTR_OBJECTIVE = uuid.uuid4()
# A Standard Webhooks secret: whsec_ and base64 of 24 bytes.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """Local webhook endpoints: records what arrives, and can be down."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, object]]] = []  # one per notification
        self.messages: list[tuple[str, dict[str, Any]]] = []  # one per webhook call
        self.signed: list[tuple[str, bytes, dict[str, str]]] = []  # (host, body, headers)
        self.down: set[str] = set()
        self.headers: list[dict[str, str]] = []  # every call's headers, answered or not

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.headers.append(dict(request.headers))
        if host in self.down:
            return httpx.Response(503)
        message = json.loads(request.content)
        self.messages.append((host, message))
        self.signed.append((host, request.content, dict(request.headers)))
        for notification in message["notifications"]:
            self.received.append((host, notification))
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
                channel("default", "http://team.test/hook", 0),
                channel("backup", "http://backup.test/hook", 0),
                channel("manager", "http://manager.test/hook", 1),
            ]
        )
        await configuration.on_targets(session, targets())
    return made


def channel(name: str, url: str, level: int) -> Channel:
    """A channel told at once (grouping has its own tests)."""
    return Channel(
        id=name,
        url=url,
        sealed_secret=secret_box().seal(SECRET),
        escalation_level=level,
        group_by=["plan_id"],
        group_wait_seconds=0,
        group_interval_seconds=0,
    )


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


async def run(sessions: async_sessionmaker[AsyncSession], action: object, now: datetime) -> None:
    async with sessions() as session, session.begin():
        if isinstance(action, KpiSnapshotV1):
            await judging.on_kpi_snapshot(session, action, now)
        elif isinstance(action, MetricsUpdatedV1):
            await judging.on_metrics_updated(session, action, now)
        elif isinstance(action, FraudSuspectedV1):
            await judging.on_event(
                session, action.event_type, action.plan_id, action.plan_id, "fraud", now
            )
        elif isinstance(action, SilenceCreate):
            await configuration.create_silence(session, action, "supervisor-wang")
        else:
            await action(session, now, Settings())  # type: ignore[operator]


async def alerts_of(engine: AsyncEngine) -> list[Alert]:
    async with create_sessionmaker(engine)() as session:
        return list(await session.scalars(select(Alert).order_by(Alert.started_at)))


async def events_of(engine: AsyncEngine, event_type: str) -> int:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(bus.outbox.c.id).where(bus.outbox.c.event_type == event_type)
        )
        return len(rows.all())
