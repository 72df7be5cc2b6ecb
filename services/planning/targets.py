"""Target decomposition (company → region → city → school) and partner reviews."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import rules
from services.planning.models import Objective, Plan, idempotency
from services.planning.repository import PlanRepository
from services.planning.schemas import (
    DecompositionNodeIn,
    DecompositionNodeRead,
    PartnerRead,
    PartnerReviewIn,
    PlanStatus,
)
from services.planning.service import PlanNotEditable, get_plan, outbox, touch
from shared.contract.events.planning import DecomposedNode, ObjectiveDecomposedV1
from shared.kit.errors import NotFound, RuleViolated

_CLOSED = (PlanStatus.ARCHIVED,)


def _stored(node: DecompositionNodeIn, seen: set[uuid.UUID]) -> dict[str, Any]:
    node_id = node.id or uuid.uuid4()
    if node_id in seen:
        raise RuleViolated(f"node id {node_id} appears twice", field="id", rule="unique-id")
    seen.add(node_id)
    return {
        "id": str(node_id),
        "name": node.name,
        "level": node.level,
        "target": str(node.target),
        "owner_id": node.owner_id,
        "actual": None if node.actual is None else str(node.actual),
        "children": [_stored(child, seen) for child in node.children],
        "source_id": None if node.source_id is None else str(node.source_id),
        "entities": list(node.entities),
    }


def _node(data: dict[str, Any]) -> rules.Node:
    return rules.Node(
        id=data["id"],
        name=data["name"],
        level=data["level"],
        target=Decimal(data["target"]),
        owner_id=data["owner_id"],
        actual=None if data["actual"] is None else Decimal(data["actual"]),
        children=[_node(child) for child in data["children"]],
        source_id=data.get("source_id"),
        entities=data.get("entities", []),
    )


def _read(rolled: rules.RolledUp) -> DecompositionNodeRead:
    return DecompositionNodeRead(
        id=uuid.UUID(rolled.node.id),
        name=rolled.node.name,
        level=rolled.node.level,
        target=rolled.node.target,
        owner_id=rolled.node.owner_id,
        actual=rolled.actual,
        children_target=rolled.children_target,
        difference=rolled.difference,
        achievement=rolled.achievement,
        payout_rate=rolled.payout_rate,
        children=[_read(child) for child in rolled.children],
        source_id=None if rolled.node.source_id is None else uuid.UUID(rolled.node.source_id),
        entities=rolled.node.entities or [],
    )


async def _objective(session: AsyncSession, plan_id: uuid.UUID, objective_id: uuid.UUID) -> Any:
    objective = await PlanRepository(session).objective(objective_id)
    if objective is None or objective.plan_id != plan_id:
        raise NotFound(f"no objective {objective_id} in plan {plan_id}")
    return objective


async def set_decomposition(
    session: AsyncSession, plan_id: uuid.UUID, objective_id: uuid.UUID, root: DecompositionNodeIn
) -> DecompositionNodeRead:
    """Replace an objective's decomposition tree; its root holds the objective's target."""
    plan = await get_plan(session, plan_id, for_update=True)
    if plan.status in _CLOSED:
        raise PlanNotEditable("an archived plan is read-only", rule="archived")
    objective = await _objective(session, plan_id, objective_id)
    if root.target != objective.target_value:
        raise RuleViolated(
            f"the root must hold the objective's target {objective.target_value}",
            field="target",
            rule="root-target",
        )
    stored = _stored(root, set())
    finding = rules.entity_finding(_node(stored))
    if finding is not None:
        raise RuleViolated(finding.message, field=finding.field, rule=finding.rule)
    objective.decomposition = stored
    touch(plan)
    await session.flush()
    await publish_decomposition(session, plan, objective)
    return _read(rules.roll_up(_node(objective.decomposition)))


async def get_decomposition(
    session: AsyncSession, plan_id: uuid.UUID, objective_id: uuid.UUID
) -> DecompositionNodeRead:
    """The rolled-up tree: sums, gaps, achievement and capped payout per node."""
    objective = await _objective(session, plan_id, objective_id)
    if objective.decomposition is None:
        raise NotFound(f"objective {objective_id} has no decomposition yet")
    return _read(rules.roll_up(_node(objective.decomposition)))


async def review_partner_once(
    session: AsyncSession,
    plan_id: uuid.UUID,
    partner_id: uuid.UUID,
    review: PartnerReviewIn,
    by: str,
    key: str | None,
) -> PartnerRead:
    """Add a review to a partner, once per Idempotency-Key (bound to the partner)."""
    return await idempotency.run(
        session,
        key=key,
        principal=by,
        scope=f"POST /planning/plans/{plan_id}/partners/{partner_id}/reviews",
        request=review,
        produce=lambda: review_partner(session, plan_id, partner_id, review, by),
        model=PartnerRead,
    )


async def review_partner(
    session: AsyncSession,
    plan_id: uuid.UUID,
    partner_id: uuid.UUID,
    review: PartnerReviewIn,
    by: str,
) -> PartnerRead:
    """Add a periodic performance review to a partner."""
    plan = await get_plan(session, plan_id, for_update=True)
    partner = await PlanRepository(session).partner(partner_id)
    if partner is None or partner.plan_id != plan.id:
        raise NotFound(f"no partner {partner_id} in plan {plan_id}")
    partner.reviews = [*partner.reviews, {**review.model_dump(mode="json"), "by": by}]
    touch(plan)
    await session.flush()
    return PartnerRead.model_validate(partner)


def _published(data: dict[str, Any], parent_id: uuid.UUID | None = None) -> list[DecomposedNode]:
    """The stored tree flattened, root first and each parent before its children."""
    node_id = uuid.UUID(data["id"])
    node = DecomposedNode(
        node_id=node_id,
        parent_id=parent_id,
        name=data["name"],
        level=data["level"],
        target=Decimal(data["target"]),
        owner_id=data["owner_id"],
        source_id=None if data.get("source_id") is None else uuid.UUID(data["source_id"]),
        entities=data.get("entities", []),
    )
    return [node, *(n for child in data["children"] for n in _published(child, node_id))]


async def publish_decomposition(session: AsyncSession, plan: Plan, objective: Objective) -> None:
    """Send an objective's tree to metrics, which measures each node from its entities' facts."""
    if objective.decomposition is None:
        return
    await outbox.record(
        session,
        ObjectiveDecomposedV1(
            plan_id=plan.id,
            objective_id=objective.id,
            plan_revision=plan.revision,
            metric=objective.metric,
            starts_on=plan.starts_on,
            due_on=objective.due_on,
            nodes=_published(objective.decomposition),
        ),
        subject=str(plan.id),
    )
