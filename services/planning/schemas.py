"""Planning's HTTP models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.contract.types import CurrencyCode
from shared.kit.pagination import Page

Name = Annotated[str, Field(min_length=1, max_length=200)]


class PlanCreate(BaseModel):
    """A new campaign plan; it starts as a draft owned by the caller unless an owner is named."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    product: Name
    starts_on: date
    ends_on: date
    currency: CurrencyCode = "CNY"
    owner_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, ends_on: date, info: ValidationInfo) -> date:
        starts_on = info.data.get("starts_on")
        if starts_on is not None and ends_on < starts_on:
            raise ValueError("the plan must end on or after its start date")
        return ends_on


class PlanRead(BaseModel):
    """A campaign plan as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    product: str
    owner_id: str
    starts_on: date
    ends_on: date
    currency: str
    status: str
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


PlanPage = Page[PlanRead]
