"""Every event payload of the system, registered in one catalogue.

Each service's events live in the module named after it; its ``EVENTS`` tuple registers them.
"""

from shared.contract.envelope import EventRegistry
from shared.contract.events import alerts, approvals, metrics, planning, tasks
from shared.contract.events.planning import PlanCreatedV1

CATALOGUE = EventRegistry(
    [*planning.EVENTS, *tasks.EVENTS, *metrics.EVENTS, *alerts.EVENTS, *approvals.EVENTS]
)

__all__ = ["CATALOGUE", "PlanCreatedV1"]
