"""Report rows as platforms send them, validated from raw bytes and mapped to facts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.contract.metric_dictionary import METRIC_DICTIONARY, MetricKind

MAX_ROWS = 10_000
Count = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]
Entity = Annotated[str, Field(min_length=1, max_length=100)]
BASE_METRICS = frozenset(
    key
    for key, m in METRIC_DICTIONARY.items()
    if m.kind is not MetricKind.RATIO or m.numerator is None
)


class Row(BaseModel):
    """A canonical row: one metric of one entity (platform campaign) on one day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Entity
    day: date
    metric: Literal[tuple(sorted(BASE_METRICS))]  # type: ignore[valid-type]
    value: Count


class MetaAction(BaseModel):
    """An entry of ``actions[]`` in a Meta Marketing API insights row."""

    model_config = ConfigDict(extra="ignore")

    action_type: str
    value: Count


class MetaInsightsRow(BaseModel):
    """A Meta Marketing API insights row at campaign level, one day (time_increment=1)."""

    model_config = ConfigDict(extra="ignore")

    campaign_id: Entity
    date_start: date
    impressions: Count = Decimal(0)
    clicks: Count = Decimal(0)
    spend: Count = Decimal(0)
    reach: Count | None = None
    actions: list[MetaAction] = Field(default_factory=list, max_length=100)


class OceanEngineRow(BaseModel):
    """An Ocean Engine (巨量引擎) campaign report row, one day."""

    model_config = ConfigDict(extra="ignore")

    campaign_id: Entity
    stat_datetime: datetime
    show_cnt: Count = Decimal(0)
    click_cnt: Count = Decimal(0)
    convert_cnt: Count = Decimal(0)
    stat_cost: Count = Decimal(0)


class CanonicalReport(BaseModel):
    """A batch in our own row format."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["canonical"] = "canonical"
    report_time: datetime
    rows: list[Row] = Field(min_length=1, max_length=MAX_ROWS)


class MetaReport(BaseModel):
    """A batch of Meta insights rows."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["meta_insights"]
    report_time: datetime
    rows: list[MetaInsightsRow] = Field(min_length=1, max_length=MAX_ROWS)


class OceanEngineReport(BaseModel):
    """A batch of Ocean Engine report rows."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["ocean_engine"]
    report_time: datetime
    rows: list[OceanEngineRow] = Field(min_length=1, max_length=MAX_ROWS)


Report = Annotated[CanonicalReport | MetaReport | OceanEngineReport, Field(discriminator="format")]
# Built once: validating the raw bytes in Rust is what keeps a 10,000-row batch cheap.
REPORT = TypeAdapter(Report)

META_ACTIONS = {
    "complete_registration": "registrations",
    "offsite_conversion.fb_pixel_complete_registration": "registrations",
    "purchase": "conversions",
    "omni_purchase": "conversions",
    "offsite_conversion.fb_pixel_purchase": "conversions",
}


def facts(
    report: CanonicalReport | MetaReport | OceanEngineReport,
) -> dict[tuple[str, date, str], Decimal]:
    """The batch as (entity, day, metric) → value; a repeated key keeps its last value."""
    out: dict[tuple[str, date, str], Decimal] = {}
    if isinstance(report, CanonicalReport):
        for row in report.rows:
            out[(row.entity, row.day, row.metric)] = row.value
    elif isinstance(report, MetaReport):
        for meta in report.rows:
            key = (meta.campaign_id, meta.date_start)
            out[(*key, "impressions")] = meta.impressions
            out[(*key, "clicks")] = meta.clicks
            out[(*key, "cost")] = meta.spend
            if meta.reach is not None:
                out[(*key, "reach")] = meta.reach
            for action in meta.actions:
                if metric := META_ACTIONS.get(action.action_type):
                    out[(*key, metric)] = out.get((*key, metric), Decimal(0)) + action.value
    else:
        for ocean in report.rows:
            key = (ocean.campaign_id, ocean.stat_datetime.date())
            out[(*key, "impressions")] = ocean.show_cnt
            out[(*key, "clicks")] = ocean.click_cnt
            out[(*key, "conversions")] = ocean.convert_cnt
            out[(*key, "cost")] = ocean.stat_cost
    return out
