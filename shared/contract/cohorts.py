"""Revenue per acquisition cohort, as the e-commerce back end posts it (an internal source).

A cohort is the customers a fact entity (a channel's campaign code) acquired on one day; each
row gives the cohort's size and its cumulative revenue ``age_days`` days after that day, in the
source's currency. A newer row for the same (entity, cohort day, age) replaces the older one.
Metrics reads each cohort's oldest age (its newest figure) as the observed lifetime value.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Count = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=0)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]


class CohortRevenueRow(BaseModel):
    """One cohort at one age: its size and cumulative revenue since acquisition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: Annotated[str, Field(min_length=1, max_length=200)]
    cohort_on: date = Field(description="the day the cohort's customers were acquired")
    age_days: Annotated[int, Field(ge=0, le=3650)]
    customers: Count = Field(description="customers acquired that day (the cohort's size)")
    revenue: Amount = Field(description="their cumulative revenue up to this age")


class CohortRevenueBatch(BaseModel):
    """A delivery of cohort rows, stored whole or refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    report_time: datetime
    rows: list[CohortRevenueRow] = Field(min_length=1, max_length=10_000)
