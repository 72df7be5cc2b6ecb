"""The other rule kinds: projected miss, change over the previous period, budget pacing;
and the follow-up task an alert asked for, linked back to it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import configuration, evaluation, handlers, judging, service
from services.alerts.schemas import RuleCreate
from shared.contract.envelope import Envelope
from shared.contract.events.approvals import ApprovalStepDecidedV1, RequestKind
from shared.contract.events.metrics import (
    IngestionSummaryV1,
    KpiSnapshotV1,
    MetricsUpdatedV1,
    MetricValue,
    ObjectiveAchievement,
    SpendRecordedV1,
)
from shared.contract.events.planning import ChannelTarget
from shared.contract.events.tasks import TaskCreatedV1, TaskDueSoonV1, TaskStatusChangedV1
from shared.contract.types import ChannelType, Money
from tests.alerts.scenario import PLAN, T0, alerts_of, run, targets

FEED = uuid.uuid4()
REGISTRATIONS = uuid.uuid4()


async def _rule(sessions: async_sessionmaker[AsyncSession], **fields: object) -> None:
    async with sessions() as session, session.begin():
        await configuration.create_rule(
            session, RuleCreate.model_validate({"name": "r", "plan_id": PLAN, **fields})
        )


def _registrations(actual: int, expected_to_date: int) -> KpiSnapshotV1:
    return KpiSnapshotV1(
        plan_id=PLAN,
        plan_version=1,
        as_of=T0,
        objectives=[
            ObjectiveAchievement(
                objective_id=REGISTRATIONS,
                metric="registrations",
                target=Decimal(40000),
                actual=Decimal(actual),
                expected_to_date=Decimal(expected_to_date),
                achievement=Decimal(actual) / 40000,
            )
        ],
    )


async def _states(engine: AsyncEngine, kind_summary: str) -> list[str]:
    return [a.state for a in await alerts_of(engine) if kind_summary in a.summary]


async def test_a_projected_miss_fires_at_the_current_pace_and_clears_when_it_catches_up(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _rule(sessions, kind="projected_miss", metric="registrations", threshold=10)
    await run(sessions, _registrations(10000, 20000), T0)  # heading for 20,000 of 40,000
    assert await _states(engine, "heading for") == ["firing"]
    await run(sessions, _registrations(18500, 20000), T0 + timedelta(days=1))  # 37,000: band
    assert await _states(engine, "heading for") == ["firing"]
    await run(sessions, _registrations(19000, 20000), T0 + timedelta(days=2))  # 38,000 = -5 %
    assert await _states(engine, "heading for") == ["resolved"]


def _ctr(day: date, value: str) -> MetricsUpdatedV1:
    return MetricsUpdatedV1(
        plan_id=PLAN,
        channel_id=FEED,
        day=day,
        as_of=T0,
        values=[MetricValue(metric="ctr", value=Decimal(value))],
    )


async def test_a_day_over_day_drop_fires_and_a_week_over_week_rule_waits_for_a_week_of_data(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _rule(sessions, kind="change_over_period", metric="ctr", threshold=30, period_days=1)
    await _rule(sessions, kind="change_over_period", metric="ctr", threshold=30, period_days=7)
    day = date(2024, 6, 5)
    await run(sessions, _ctr(day, "0.020"), T0)
    await run(sessions, _ctr(day + timedelta(days=1), "0.014"), T0)  # -30 % day over day
    assert await _states(engine, "against 0.020") == ["firing"]
    await run(sessions, _ctr(day + timedelta(days=2), "0.016"), T0)  # +14 %: recovered
    assert [a.state for a in await alerts_of(engine)] == ["resolved"]
    assert evaluation.percent_change(Decimal("0.014"), Decimal("0.020")) == Decimal(-30)


async def test_spend_ahead_of_the_budget_share_of_elapsed_time_fires_a_pacing_alert(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed = ChannelTarget(
        channel_id=FEED,
        channel_type=ChannelType.IN_FEED,
        name="feed ads",
        planned_budget=Money(amount=Decimal(92000)),  # 1,000 a day over May–July
    )
    async with sessions() as session, session.begin():
        await configuration.on_targets(session, targets().model_copy(update={"channels": [feed]}))
    await _rule(sessions, kind="budget_pacing", direction="above", threshold=20)

    def spent(amount: int) -> SpendRecordedV1:
        return SpendRecordedV1(
            plan_id=PLAN,
            channel_id=FEED,
            through_day=date(2024, 5, 10),  # 10 of 92 days: 10,000 expected
            spend_to_date=Money(amount=Decimal(amount)),
        )

    async with sessions() as session, session.begin():
        await judging.on_spend(session, spent(11900), T0)
    assert await alerts_of(engine) == []
    async with sessions() as session, session.begin():
        await judging.on_spend(session, spent(13000), T0)
    ((alert),) = await alerts_of(engine)
    assert (alert.state, alert.channel_id) == ("firing", FEED)
    assert "+30.0% off pace" in alert.summary
    async with sessions() as session, session.begin():
        await judging.on_spend(session, spent(10900), T0 + timedelta(hours=1))
    assert [a.state for a in await alerts_of(engine)] == ["resolved"]


async def test_the_follow_up_task_made_for_an_alert_is_linked_back_to_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await run(sessions, _registrations(1, 1), T0)  # nothing fires on its own here
    async with sessions() as session, session.begin():
        await judging.on_event(session, "tasks.task.overdue", PLAN, uuid.uuid4(), "late", T0)
    (alert,) = await alerts_of(engine)
    task = TaskCreatedV1(
        task_id=uuid.uuid4(),
        plan_id=PLAN,
        code="RR-1",
        name="fix creatives",
        owner_id="optimiser-he",
        approver_id="supervisor-wang",
        starts_on=T0.date(),
        ends_on=T0.date(),
        priority="high",
        alert_id=alert.id,
    )
    async with sessions() as session, session.begin():
        await service.on_task_created(session, task)
    (linked,) = await alerts_of(engine)
    assert linked.follow_up_task_id == task.task_id


async def test_event_alerts_resolve_when_their_condition_is_over(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    task, source, request = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with sessions() as session, session.begin():
        for event_type, subject in (
            ("tasks.task.overdue", task),
            ("metrics.source.data_late", source),
            ("approvals.request.overdue", request),
        ):
            await judging.on_event(session, event_type, PLAN, subject, event_type, T0)
    assert sorted(a.state for a in await alerts_of(engine)) == ["firing"] * 3
    envelope = Envelope.model_validate(
        {"type": "x", "version": 1, "source": "test", "subject": "s", "time": T0, "data": {}}
    )
    started = TaskStatusChangedV1(
        task_id=task,
        plan_id=PLAN,
        code="M-001",
        name="n",
        from_status="not_started",
        to_status="in_progress",
        by="amy",
    )
    async with sessions() as session, session.begin():
        await handlers.on_task_moved(started, envelope, session)  # still overdue
        await handlers.on_ingested(
            IngestionSummaryV1(
                source_id=source,
                delivery_id="d",
                rows=12,
                facts_inserted=12,
                facts_revised=0,
                facts_ignored_stale=0,
            ),
            envelope,
            session,
        )
    states = {a.summary: a.state for a in await alerts_of(engine)}
    assert states == {
        "tasks.task.overdue": "firing",
        "metrics.source.data_late": "resolved",
        "approvals.request.overdue": "firing",
    }
    async with sessions() as session, session.begin():
        done = started.model_copy(update={"from_status": "submitted", "to_status": "done"})
        await handlers.on_task_moved(done, envelope, session)
        await handlers.on_stage_decided(
            ApprovalStepDecidedV1(
                request_id=request,
                kind=RequestKind.EXPENSE,
                reference_id=request,
                stage="supervisor",
                decision="approve",
                decided_by="supervisor-wang",
            ),
            envelope,
            session,
        )
    assert [a.state for a in await alerts_of(engine)] == ["resolved"] * 3


async def test_a_due_soon_rule_warns_and_the_finished_task_clears_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _rule(sessions, kind="event", event_type="tasks.task.due_soon", severity="info")
    task = uuid.uuid4()
    envelope = Envelope.model_validate(
        {
            "type": "tasks.task.due_soon",
            "version": 1,
            "source": "tasks",
            "subject": "s",
            "time": T0,
            "data": {},
        }
    )
    due = TaskDueSoonV1(
        task_id=task,
        plan_id=PLAN,
        code="M-002",
        name="venue",
        owner_id="amy",
        ends_on=date(2024, 6, 9),
        business_day=date(2024, 6, 7),
    )
    async with sessions() as session, session.begin():
        await handlers.on_condition(due, envelope, session)
    (alert,) = await alerts_of(engine)
    assert (alert.state, alert.severity, alert.summary) == (
        "firing",
        "info",
        "task M-002 venue ends on 2024-06-09",
    )
    done = TaskStatusChangedV1(
        task_id=task,
        plan_id=PLAN,
        code="M-002",
        name="venue",
        from_status="submitted",
        to_status="done",
        by="wang",
    )
    async with sessions() as session, session.begin():
        await handlers.on_task_moved(done, envelope, session)
    assert [a.state for a in await alerts_of(engine)] == ["resolved"]
