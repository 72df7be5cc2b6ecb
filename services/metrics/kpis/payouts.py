"""Objectives' target trees, kept from planning and measured from facts for KPI payouts."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.facts.repository import FactsRepository
from services.metrics.kpis import decomposition
from services.metrics.kpis.repository import KpisRepository
from services.metrics.models import Decomposition
from services.metrics.schemas import DecompositionNodeRead, DecompositionRead
from shared.contract.events.planning import DecomposedNode, ObjectiveDecomposedV1
from shared.contract.payouts import KPI_PAYOUT_CAP
from shared.kit.errors import NotFound


async def on_decomposed(session: AsyncSession, event: ObjectiveDecomposedV1) -> None:
    """Keep the newest tree of an objective (an older plan revision arriving late is ignored)."""
    repo = KpisRepository(session)
    current = await repo.decomposition(event.plan_id, event.objective_id)
    tree = [node.model_dump(mode="json") for node in event.nodes]
    if current is None:
        await repo.add(
            Decomposition(
                plan_id=event.plan_id,
                objective_id=event.objective_id,
                plan_revision=event.plan_revision,
                metric=event.metric,
                starts_on=event.starts_on,
                due_on=event.due_on,
                tree=tree,
            )
        )
        return
    if event.plan_revision < current.plan_revision:
        return
    current.plan_revision, current.metric, current.tree = event.plan_revision, event.metric, tree
    current.starts_on, current.due_on = event.starts_on, event.due_on
    await session.flush()


async def standing(
    session: AsyncSession,
    plan_id: uuid.UUID,
    objective_id: uuid.UUID,
    as_of: date,
    known_at: datetime | None = None,
) -> DecompositionRead:
    """Every node's actual from plan start to ``as_of``, achievement, capped payout and pace
    (with ``known_at``, of the facts as known then)."""
    repo = KpisRepository(session)
    kept = await repo.decomposition(plan_id, objective_id)
    if kept is None:
        raise NotFound(f"objective {objective_id} of plan {plan_id} has no decomposition")
    nodes = [DecomposedNode.model_validate(node) for node in kept.tree]
    sums = await FactsRepository(session).entity_sums(
        plan_id,
        decomposition.entities(nodes),
        kept.starts_on,
        as_of,
        decomposition.base_metrics(kept.metric),
        known_at,
    )
    measured = decomposition.measure(
        nodes, kept.metric, sums, starts_on=kept.starts_on, due_on=kept.due_on, as_of=as_of
    )
    return DecompositionRead(
        plan_id=plan_id,
        objective_id=objective_id,
        plan_revision=kept.plan_revision,
        metric=kept.metric,
        starts_on=kept.starts_on,
        due_on=kept.due_on,
        as_of=as_of,
        payout_cap=KPI_PAYOUT_CAP,
        root=_read(measured),
    )


def _read(standing: decomposition.NodeStanding) -> DecompositionNodeRead:
    node = standing.node
    return DecompositionNodeRead(
        node_id=node.node_id,
        name=node.name,
        level=node.level,
        owner_id=node.owner_id,
        source_id=node.source_id,
        entities=node.entities,
        target=node.target,
        actual=standing.actual,
        achievement=standing.achievement,
        payout_rate=standing.payout_rate,
        expected_to_date=standing.expected_to_date,
        projected_at_due=standing.projected_at_due,
        children_target=standing.children_target,
        unassigned=standing.unassigned,
        children=[_read(child) for child in standing.children],
    )
