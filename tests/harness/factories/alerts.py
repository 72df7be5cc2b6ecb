"""Alert rules and alerts built through the alerts service's own functions.

A plan's default rules come from planning's ``planning.plan.targets_set`` event, applied through
alerts' handler (``plan_rules``); a rule of one's own is what POST /alerts/rules stores
(``create_rule``); an alert is raised by the judging use case a KPI snapshot goes to
(``judged``), at the moment the test names, so its state does not depend on the clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts import configuration, judging, service
from services.alerts.schemas import AlertFilter, AlertRead, RuleCreate, RuleRead
from shared.contract.events.metrics import KpiSnapshotV1
from shared.contract.events.planning import PlanTargetsSetV1
from shared.kit.pagination import PageWindow
from tests.harness.factories.events import handled


async def plan_rules(sessions: async_sessionmaker[AsyncSession], targets: PlanTargetsSetV1) -> None:
    """The plan's default rules (one per objective, one per watched event), as its targets
    event leaves them."""
    await handled(sessions, "alerts", targets, str(targets.plan_id))


async def create_rule(sessions: async_sessionmaker[AsyncSession], body: dict[str, Any]) -> RuleRead:
    """A rule of one's own (a POST /alerts/rules body)."""
    async with sessions() as session, session.begin():
        return await configuration.create_rule(session, RuleCreate.model_validate(body))


async def judged(
    sessions: async_sessionmaker[AsyncSession], snapshot: KpiSnapshotV1, now: datetime
) -> list[AlertRead]:
    """Judge a KPI snapshot against the plan's rules at ``now``; the plan's alerts, newest first
    (a breach of a rule firing at once is one firing alert)."""
    async with sessions() as session, session.begin():
        await judging.on_kpi_snapshot(session, snapshot, now)
    async with sessions() as session:
        page = await service.list_alerts(
            session, AlertFilter(plan_id=snapshot.plan_id), PageWindow()
        )
    return page.items
