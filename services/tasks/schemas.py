"""Tasks' HTTP models."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class KnownPlanRead(BaseModel):
    """A plan as the tasks service knows it from planning's events."""

    model_config = ConfigDict(from_attributes=True)

    plan_id: uuid.UUID
    name: str
    owner_id: str
    starts_on: date
    ends_on: date
    received_at: datetime
