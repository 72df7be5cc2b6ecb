"""A target decomposition tree measured from facts, as plain functions.

A leaf (school/ambassador) owns fact entities (channel codes); its actual is their facts' sum.
A parent adds up its children's base sums, so a ratio is a ratio of sums all the way up. Each
node's achievement is actual / target and its KPI payout rate follows it, capped at 200 %.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.metrics.kpis import kpi
from shared.contract.events.planning import DecomposedNode
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.contract.payouts import payout_rate

EntitySums = Mapping[tuple[uuid.UUID, str], Mapping[str, Decimal]]  # (source, entity) → sums


@dataclass(frozen=True)
class NodeStanding:
    """One node: its target, what its entities' facts add up to, and how it is doing."""

    node: DecomposedNode
    actual: Decimal | None  # None: nothing under the node names an entity to measure
    achievement: Decimal | None
    payout_rate: Decimal | None
    expected_to_date: Decimal | None
    projected_at_due: Decimal | None
    children_target: Decimal | None
    unassigned: Decimal | None  # target minus the children's targets: not handed down yet
    children: list[NodeStanding]


def base_metrics(metric: str) -> list[str]:
    """The summed metrics a node's value is computed from (a ratio needs its parts)."""
    definition = METRIC_DICTIONARY.get(metric)
    if definition is not None and definition.numerator and definition.denominator:
        return [definition.numerator, definition.denominator]
    return [metric]


def entities(nodes: Sequence[DecomposedNode]) -> list[str]:
    """Every entity the tree's nodes own."""
    return [entity for node in nodes for entity in node.entities]


def measure(
    nodes: Sequence[DecomposedNode],
    metric: str,
    sums: EntitySums,
    *,
    starts_on: date,
    due_on: date,
    as_of: date,
) -> NodeStanding:
    """Actual, achievement, capped payout, pace and unassigned gap of every node.

    ``nodes`` is the tree flattened, root first (as planning publishes it).
    """
    children: dict[uuid.UUID | None, list[DecomposedNode]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    (root,) = children[None]
    tree = _Tree(metric, sums, children, starts_on, due_on, as_of)
    standing, _ = tree.measure(root)
    return standing


@dataclass(frozen=True)
class _Tree:
    """What every node is measured against: the metric, the facts and the period."""

    metric: str
    sums: EntitySums
    children: Mapping[uuid.UUID | None, list[DecomposedNode]]
    starts_on: date
    due_on: date
    as_of: date

    def measure(self, node: DecomposedNode) -> tuple[NodeStanding, dict[str, Decimal] | None]:
        """The node's standing and its base sums (None: nothing under it names an entity)."""
        below = self.children.get(node.node_id, [])
        measured = [self.measure(child) for child in below]
        own = _owned(node, self.sums)
        parts = [s for _, s in measured if s is not None] + ([own] if own is not None else [])
        total = _added(parts) if parts else None
        value = None if total is None else _value(self.metric, total)
        # Measured or not, a node's target has a pace; the figures need a value.
        standing = kpi.achievement(
            metric=self.metric,
            target_kind="absolute",
            target=node.target,
            baseline=None,
            value=Decimal(0) if value is None else value,
            starts_on=self.starts_on,
            due_on=self.due_on,
            as_of=self.as_of,
        )
        achievement = None if value is None else standing.achievement
        # A ratio's target is a level each node must reach, not a share: it does not add up.
        children_target = (
            sum((child.target for child in below), Decimal(0))
            if below and kpi.accumulates(self.metric)
            else None
        )
        return (
            NodeStanding(
                node=node,
                actual=value,
                achievement=achievement,
                payout_rate=payout_rate(achievement),
                expected_to_date=standing.expected_to_date,
                projected_at_due=None if value is None else standing.projected,
                children_target=children_target,
                unassigned=None if children_target is None else node.target - children_target,
                children=[child for child, _ in measured],
            ),
            total,
        )


def _owned(node: DecomposedNode, sums: EntitySums) -> dict[str, Decimal] | None:
    """The node's own entities' sums; None when it names none (it is not measured itself)."""
    if not node.entities:
        return None
    owned = set(node.entities)
    return _added(
        [
            values
            for (source_id, entity), values in sums.items()
            if entity in owned and node.source_id in (None, source_id)
        ]
    )


def _added(parts: Sequence[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for part in parts:
        for metric, value in part.items():
            total[metric] = total.get(metric, Decimal(0)) + value
    return total


def _value(metric: str, sums: Mapping[str, Decimal]) -> Decimal | None:
    """A measured node with no facts yet has counted nothing: zero, not unknown."""
    if kpi.accumulates(metric):
        return sums.get(metric, Decimal(0))
    # Ratios of sums; an index or a ratio without parts cannot be added up over entities.
    return kpi.value_of(metric, sums, {}) if len(base_metrics(metric)) == 2 else None
