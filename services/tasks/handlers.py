"""Events the tasks service consumes; each runs inside the inbox's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import SERVICE
from services.tasks.repository import KnownPlanRepository, TaskRepository
from services.tasks.schemas import TaskCreate
from services.tasks.service import create_task, suggest_closing
from services.tasks.views import instantiate, take_baseline
from shared.contract.envelope import Envelope
from shared.contract.events.alerts import AlertRaisedV1, AlertResolvedV1
from shared.contract.events.planning import PlanApprovedV1, PlanCreatedV1, PlanUpdatedV1
from shared.kit.bus.inbox import subscribe


async def on_plan_created(
    event: PlanCreatedV1 | PlanUpdatedV1, envelope: Envelope, session: AsyncSession
) -> None:
    """Remember (or refresh) the plan so tasks can be validated against it."""
    await KnownPlanRepository(session).upsert(
        {
            "plan_id": event.plan_id,
            "name": event.name,
            "owner_id": event.owner_id,
            "starts_on": event.starts_on,
            "ends_on": event.ends_on,
            "last_event_id": envelope.id,
        }
    )


async def on_plan_approved(
    event: PlanApprovedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Instantiate the templates attached to the plan, then baseline the approved schedule."""
    repo = TaskRepository(session)
    for attached in await repo.plan_templates(event.plan_id):
        template = await repo.template(attached.template_id)
        if template is not None:
            await instantiate(
                session,
                event.plan_id,
                template,
                attached.start_on,
                attached.owner_id,
                attached.approver_id,
            )
        attached.instantiated = True
    await take_baseline(session, event.plan_id, f"plan approved (version {event.version})")


async def on_alert_raised(event: AlertRaisedV1, envelope: Envelope, session: AsyncSession) -> None:
    """A rule asked for a follow-up: create the rapid-response task, linked to the alert."""
    follow_up = event.follow_up
    if follow_up is None or event.plan_id is None:
        return
    plan = await KnownPlanRepository(session).get_or_none(event.plan_id)
    if plan is None:
        return
    due = min(max(follow_up.due_on, plan.starts_on), plan.ends_on)
    await create_task(
        session,
        event.plan_id,
        TaskCreate(
            code=f"RR-{str(event.alert_id)[:8]}",
            name=follow_up.title[:200],
            description=event.summary,
            starts_on=min(due, max(envelope.time.date(), plan.starts_on)),
            ends_on=due,
            priority="high",
            owner_id=follow_up.owner_id,
            approver_id=follow_up.approver_id,
        ),
        alert_id=event.alert_id,
    )


async def on_alert_resolved(
    event: AlertResolvedV1, envelope: Envelope, session: AsyncSession
) -> None:
    """The metric recovered: the alert's open follow-up tasks are marked for closing.

    Their owners close them (a person confirms the work is done); nothing is closed for them.
    """
    await suggest_closing(session, event.alert_id, envelope.time, f"alert resolved: {event.reason}")


SUBSCRIBERS = [
    subscribe(SERVICE, on_plan_created, PlanCreatedV1, PlanUpdatedV1),
    subscribe(SERVICE, on_plan_approved, PlanApprovedV1),
    subscribe(SERVICE, on_alert_raised, AlertRaisedV1),
    subscribe(SERVICE, on_alert_resolved, AlertResolvedV1),
]
