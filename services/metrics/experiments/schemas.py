"""The HTTP models of A/B experiments and their reviews."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.metrics.schemas import Name, Strict
from shared.kit.errors import InvalidField

Entity = Annotated[str, Field(min_length=1, max_length=100)]
VerdictName = Literal["winner", "no_difference", "not_enough_data"]


class ArmIn(Strict):
    """One arm: a name and the fact entities (creatives, landing pages) whose facts it sums."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    entities: list[Entity] = Field(min_length=1, max_length=100)


class ExperimentCreate(Strict):
    """An experiment: its arms (the control first), primary metric and minimum sample."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "landing page A/B",
                    "metric": "conversion_rate",
                    "arms": [
                        {"name": "control", "entities": ["campaign-18321"]},
                        {"name": "short form", "entities": ["campaign-18322"]},
                    ],
                    "minimum_sample": 1000,
                    "starts_on": "2024-05-10",
                    "ends_on": "2024-05-24",
                }
            ]
        }
    )

    name: Name
    metric: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="a proportion from the dictionary: a ratio of two counts, e.g. ctr "
        "(clicks / impressions) or conversion_rate (conversions / clicks)"
    )
    arms: list[ArmIn] = Field(min_length=2, max_length=5, description="the control first")
    minimum_sample: Annotated[int, Field(ge=1, le=10**12)] = Field(
        description="the metric's denominator each arm needs (e.g. impressions) before a "
        "verdict; fix it before the test starts, and read the verdict once it is reached"
    )
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _distinct_arms(self) -> ExperimentCreate:
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise InvalidField("arms", "each arm has its own name")
        entities = [entity for arm in self.arms for entity in arm.entities]
        if len(set(entities)) != len(entities):
            raise InvalidField("arms", "an entity belongs to one arm only")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise InvalidField("ends_on", "the period ends on or after it starts")
        return self


class ArmRead(BaseModel):
    """An arm as stored."""

    name: str
    entities: list[str]


class ExperimentRead(BaseModel):
    """An experiment as stored."""

    id: uuid.UUID
    plan_id: uuid.UUID
    name: str
    metric: str
    arms: list[ArmRead]
    minimum_sample: int
    starts_on: date | None
    ends_on: date | None
    created_by: str
    created_at: datetime


class IntervalRead(BaseModel):
    """A two-sided 95 % confidence interval."""

    low: float
    high: float


class ArmResult(BaseModel):
    """An arm's counts over the period and its rate with the Wilson score interval."""

    name: str
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator / denominator; null with no denominator")
    interval: IntervalRead | None = Field(description="95 % Wilson score interval of the rate")
    enough_data: bool = Field(description="the denominator has reached the minimum sample")


class ComparisonRead(BaseModel):
    """A challenger arm against the control."""

    arm: str
    control: str
    uplift: float | None = Field(description="the arm's rate minus the control's")
    uplift_interval: IntervalRead | None = Field(
        description="95 % interval of the uplift (unpooled Wald)"
    )
    z: float | None = Field(description="pooled two-proportion z statistic")
    p_value: float | None = Field(description="two-sided p-value of the pooled z-test")
    verdict: VerdictName
    winner: str | None


class ExperimentReview(BaseModel):
    """The review of an experiment: a fixed-horizon two-proportion test, not a sequential one
    (reading it repeatedly and stopping at the first significant answer inflates false
    positives)."""

    experiment: ExperimentRead
    numerator: str
    denominator: str
    starts_on: date | None
    ends_on: date | None
    arms: list[ArmResult]
    comparisons: list[ComparisonRead]
    verdict: VerdictName
    winner: str | None
    method: str
