"""Events the metrics service consumes: planning's targets."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import SERVICE, service
from shared.contract.envelope import Envelope
from shared.contract.events.planning import PlanTargetsSetV1
from shared.kit.bus.inbox import subscribe


async def on_targets_set(
    event: PlanTargetsSetV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Keep the plan's objectives, targets and channels (each event replaces the last)."""
    await service.on_targets(session, event)


SUBSCRIBERS = [subscribe(SERVICE, on_targets_set, PlanTargetsSetV1)]
