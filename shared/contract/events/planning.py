"""Events published by the planning service."""

from __future__ import annotations

import uuid
from datetime import date

from shared.contract.envelope import EventPayload


class PlanCreatedV1(EventPayload):
    """A campaign plan was created as a draft."""

    event_type = "planning.plan.created"
    event_version = 1

    plan_id: uuid.UUID
    name: str
    product: str
    owner_id: str
    starts_on: date
    ends_on: date
    currency: str
