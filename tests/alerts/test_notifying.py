"""How notifications go out: grouped like Alertmanager's, inside each channel's business hours,
and silences that end when the alert they muted resolves. The clock is the test's."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts import configuration, jobs, judging
from services.alerts.models import Notification, Silence
from services.alerts.schemas import ChannelIn, SilenceCreate
from services.alerts.windows import BusinessHours, next_open
from tests.alerts.scenario import PLAN, SECRET, T0, Receiver, ctr, run, targets

OFFICE = BusinessHours(
    timezone="Asia/Shanghai",
    weekdays=[1, 2, 3, 4, 5],
    start=time(9),
    end=time(18),
    holidays=[date(2024, 6, 10)],  # Dragon Boat Festival
)


async def _configure(sessions: async_sessionmaker[AsyncSession], **settings: object) -> None:
    async with sessions() as session, session.begin():
        await configuration.put_channel(
            session,
            "default",
            ChannelIn.model_validate(
                {"url": "http://team.test/hook", "secret": SECRET, **settings}
            ),
        )


async def _condition(
    sessions: async_sessionmaker[AsyncSession], event_type: str, at: datetime, plan: uuid.UUID
) -> None:
    async with sessions() as session, session.begin():
        await judging.on_event(session, event_type, plan, uuid.uuid4(), event_type, at)


async def _queued(sessions: async_sessionmaker[AsyncSession]) -> list[Notification]:
    async with sessions() as session:
        query = select(Notification).order_by(Notification.next_attempt_at)
        return list(await session.scalars(query))


async def test_alerts_of_a_plan_wait_together_then_follow_at_the_group_interval(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _configure(sessions, group_wait_seconds=30, group_interval_seconds=300)
    await run(sessions, ctr("0.011"), T0)
    await _condition(sessions, "metrics.source.data_late", T0 + timedelta(seconds=10), PLAN)
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=29))
    assert receiver.messages == []  # still waiting for the group to fill
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=30))
    ((_host, first),) = receiver.messages
    assert first["group_labels"] == {"plan_id": str(PLAN)}
    assert sorted(n["summary"] for n in first["notifications"]) == [
        "ctr 0.011 against 0.015 expected",
        "metrics.source.data_late",
    ]

    await _condition(sessions, "tasks.task.overdue", T0 + timedelta(seconds=60), PLAN)
    other = uuid.uuid4()
    async with sessions() as session, session.begin():
        await configuration.on_targets(session, targets().model_copy(update={"plan_id": other}))
    await _condition(sessions, "tasks.task.overdue", T0 + timedelta(seconds=60), other)
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=329))
    assert [m["group_labels"] for _h, m in receiver.messages[1:]] == [{"plan_id": str(other)}]
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=330))  # 300 s after the first
    (later,) = [m for _h, m in receiver.messages if m["group_labels"] == {"plan_id": str(PLAN)}][1:]
    assert [n["summary"] for n in later["notifications"]] == ["tasks.task.overdue"]


async def test_outside_business_hours_a_warning_waits_for_the_next_working_morning(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _configure(
        sessions,
        group_wait_seconds=0,
        group_interval_seconds=0,
        business_hours=OFFICE.model_dump(mode="json"),
    )
    friday_evening = datetime(2024, 6, 7, 10, 30, tzinfo=UTC)  # 18:30 in Shanghai
    await run(sessions, ctr("0.011"), friday_evening)
    await _condition(sessions, "metrics.plan.fraud_suspected", friday_evening, PLAN)
    (critical, warning) = await _queued(sessions)
    assert critical.payload["severity"] == "critical"
    assert critical.next_attempt_at == friday_evening  # critical goes out any time
    tuesday_nine_in_shanghai = datetime(2024, 6, 11, 1, 0, tzinfo=UTC)  # Monday is a holiday
    assert warning.next_attempt_at == tuesday_nine_in_shanghai
    await run(sessions, jobs.deliver, datetime(2024, 6, 10, 1, 0, tzinfo=UTC))
    assert [n["severity"] for _h, n in receiver.received] == ["critical"]
    await run(sessions, jobs.deliver, tuesday_nine_in_shanghai)
    assert [n["severity"] for _h, n in receiver.received] == ["critical", "warning"]


def test_business_hours_open_on_the_next_working_day_and_never_lose_a_message() -> None:
    shanghai_monday_8 = datetime(2024, 6, 3, 0, 0, tzinfo=UTC)
    assert next_open(OFFICE, shanghai_monday_8, "warning") == datetime(2024, 6, 3, 1, tzinfo=UTC)
    inside = datetime(2024, 6, 3, 5, 0, tzinfo=UTC)
    assert next_open(OFFICE, inside, "warning") == inside
    saturday = datetime(2024, 6, 8, 3, 0, tzinfo=UTC)
    assert next_open(OFFICE, saturday, "info") == datetime(2024, 6, 11, 1, tzinfo=UTC)
    assert next_open(None, saturday, "info") == saturday
    never = BusinessHours(
        weekdays=[1], holidays=[date(2024, 6, 3) + timedelta(weeks=n) for n in range(60)]
    )
    assert next_open(never, saturday, "info") == saturday


async def test_a_silence_that_ends_on_resolve_lets_the_next_alert_through(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    silence = SilenceCreate(
        matchers={"plan_id": str(PLAN)},
        starts_at=T0 - timedelta(hours=1),
        ends_at=T0 + timedelta(days=7),
        comment="creative swap until CTR recovers",
        end_on_resolve=True,
    )
    await run(sessions, silence, T0)
    await run(sessions, ctr("0.011"), T0)
    resolved_at = T0 + timedelta(hours=2)
    await run(sessions, ctr("0.016"), resolved_at)
    async with sessions() as session:
        (stored,) = await session.scalars(select(Silence))
    assert stored.ends_at == resolved_at
    await run(sessions, ctr("0.010"), T0 + timedelta(hours=3))
    await run(sessions, jobs.deliver, T0 + timedelta(hours=3))
    assert [n["kind"] for _h, n in receiver.received] == ["firing"]
