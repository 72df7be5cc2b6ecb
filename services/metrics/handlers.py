"""Events the metrics service consumes: planning's targets and target decompositions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import SERVICE
from services.metrics.diagnosis import channels_service, funnels_service
from services.metrics.kpis import payouts, service
from shared.contract.envelope import Envelope
from shared.contract.events.planning import (
    ObjectiveDecomposedV1,
    PlanCreatedV1,
    PlanTargetsSetV1,
    PlanUpdatedV1,
)
from shared.kit.bus.inbox import subscribe


async def on_targets_set(
    event: PlanTargetsSetV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Keep the plan's objectives, targets, channels and budget (each event replaces the last)."""
    await service.on_targets(session, event)
    await channels_service.on_budget(session, event)


async def on_objective_decomposed(
    event: ObjectiveDecomposedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Keep an objective's target tree and the entities its leaves own."""
    await payouts.on_decomposed(session, event)


async def on_plan_created(event: PlanCreatedV1, _envelope: Envelope, session: AsyncSession) -> None:
    """Keep the product the plan promotes (trends compare earlier campaigns of it)."""
    await funnels_service.on_plan_created(session, event)


async def on_plan_updated(event: PlanUpdatedV1, _envelope: Envelope, session: AsyncSession) -> None:
    """Keep the product of an edited draft."""
    await funnels_service.on_plan_updated(session, event)


async def on_version_in_force(
    event: PlanTargetsSetV1, envelope: Envelope, session: AsyncSession
) -> None:
    """Keep the day the plan version came into force (trends compare versions)."""
    await funnels_service.on_version_in_force(session, event, envelope.time)


SUBSCRIBERS = [
    subscribe(SERVICE, on_targets_set, PlanTargetsSetV1),
    subscribe(SERVICE, on_objective_decomposed, ObjectiveDecomposedV1),
    subscribe(SERVICE, on_plan_created, PlanCreatedV1),
    subscribe(SERVICE, on_plan_updated, PlanUpdatedV1),
    subscribe(SERVICE, on_version_in_force, PlanTargetsSetV1),
]
