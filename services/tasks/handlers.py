"""Events the tasks service consumes; each runs inside the inbox's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import SERVICE
from services.tasks.repository import KnownPlanRepository
from shared.contract.envelope import Envelope
from shared.contract.events import PlanCreatedV1
from shared.kit.bus.inbox import subscribe


async def on_plan_created(event: PlanCreatedV1, envelope: Envelope, session: AsyncSession) -> None:
    """Remember the plan so tasks can be validated against it."""
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


SUBSCRIBERS = [subscribe(SERVICE, on_plan_created, PlanCreatedV1)]
