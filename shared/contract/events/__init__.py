"""Every event payload of the system, registered in one catalogue."""

from shared.contract.envelope import EventRegistry
from shared.contract.events.planning import PlanCreatedV1

CATALOGUE = EventRegistry([PlanCreatedV1])

__all__ = ["CATALOGUE", "PlanCreatedV1"]
