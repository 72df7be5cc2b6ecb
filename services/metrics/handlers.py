"""Events the metrics service consumes: planning's targets and target decompositions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import SERVICE
from services.metrics.kpis import payouts, service
from shared.contract.envelope import Envelope
from shared.contract.events.planning import ObjectiveDecomposedV1, PlanTargetsSetV1
from shared.kit.bus.inbox import subscribe


async def on_targets_set(
    event: PlanTargetsSetV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Keep the plan's objectives, targets and channels (each event replaces the last)."""
    await service.on_targets(session, event)


async def on_objective_decomposed(
    event: ObjectiveDecomposedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Keep an objective's target tree and the entities its leaves own."""
    await payouts.on_decomposed(session, event)


SUBSCRIBERS = [
    subscribe(SERVICE, on_targets_set, PlanTargetsSetV1),
    subscribe(SERVICE, on_objective_decomposed, ObjectiveDecomposedV1),
]
