"""Report rows as platforms send them, validated from raw bytes and mapped to facts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator

from shared.contract.metric_dictionary import METRIC_DICTIONARY, MetricKind

MAX_ROWS = 10_000
Count = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]
Entity = Annotated[str, Field(min_length=1, max_length=100)]
BASE_METRICS = frozenset(
    key
    for key, m in METRIC_DICTIONARY.items()
    if m.kind is not MetricKind.RATIO or m.numerator is None
)
# What a day's hours can be summed into: counts and amounts. Unique reach, reported ratios and
# indexes do not add up over hours, so they are taken for whole days only.
HOURLY_METRICS = frozenset(
    key
    for key in BASE_METRICS
    if METRIC_DICTIONARY[key].kind in (MetricKind.COUNTER, MetricKind.MONEY) and key != "reach"
)
WHOLE_DAY = -1  # the hour of a fact reported for its whole day (as models.WHOLE_DAY)
Hour = Annotated[int, Field(ge=0, le=23)]
# Meta's hourly breakdown names the hour in the ad account's time zone: "13:00:00 - 13:59:59".
MetaHour = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):00:00 - ([01][0-9]|2[0-3]):59:59$")]


class Row(BaseModel):
    """A canonical row: one metric of one entity (platform campaign) on one day, or in one hour
    of it (0-23, in the source's time zone) for a metric that adds up over hours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Entity
    day: date
    metric: Literal[tuple(sorted(BASE_METRICS))]  # type: ignore[valid-type]
    value: Count
    hour: Hour | None = None

    @field_validator("hour")
    @classmethod
    def _adds_up(cls, hour: int | None, info: ValidationInfo) -> int | None:
        # Runs only for rows that carry an hour: whole-day rows stay validated in Rust alone.
        metric = info.data.get("metric")
        if hour is not None and metric is not None and metric not in HOURLY_METRICS:
            raise ValueError(f"{metric} does not add up over hours; report it for whole days")
        return hour


class MetaAction(BaseModel):
    """An entry of ``actions[]`` in a Meta Marketing API insights row."""

    model_config = ConfigDict(extra="ignore")

    action_type: str
    value: Count


class MetaInsightsRow(BaseModel):
    """A Meta Marketing API insights row at campaign level, one day (time_increment=1), or one
    hour of it with the ``hourly_stats_aggregated_by_advertiser_time_zone`` breakdown."""

    model_config = ConfigDict(extra="ignore")

    campaign_id: Entity
    date_start: date
    impressions: Count = Decimal(0)
    clicks: Count = Decimal(0)
    spend: Count = Decimal(0)
    reach: Count | None = None
    actions: list[MetaAction] = Field(default_factory=list, max_length=100)
    hourly_stats_aggregated_by_advertiser_time_zone: MetaHour | None = None


class OceanEngineRow(BaseModel):
    """An Ocean Engine (巨量引擎) campaign report row: one day, or one hour of an hourly report
    (``stat_datetime`` is the start of the row's period, "yyyy-MM-dd HH:mm:ss")."""

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
    """A batch of Ocean Engine report rows.

    ``time_granularity`` is the report request's own parameter: a daily row and the 00:00 row
    of an hourly report carry the same ``stat_datetime``, so the time part cannot tell them apart.
    """

    model_config = ConfigDict(extra="forbid")

    format: Literal["ocean_engine"]
    time_granularity: Literal["STAT_TIME_GRANULARITY_DAILY", "STAT_TIME_GRANULARITY_HOURLY"] = (
        "STAT_TIME_GRANULARITY_DAILY"
    )
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


FactKey = tuple[str, date, int, str]  # entity, day, hour (WHOLE_DAY for the day), metric


def facts(
    report: CanonicalReport | MetaReport | OceanEngineReport,
) -> dict[FactKey, Decimal]:
    """The batch as (entity, day, hour, metric) → value; a repeated key keeps its last value."""
    out: dict[FactKey, Decimal] = {}
    if isinstance(report, CanonicalReport):
        for row in report.rows:
            hour = WHOLE_DAY if row.hour is None else row.hour
            out[(row.entity, row.day, hour, row.metric)] = row.value
    elif isinstance(report, MetaReport):
        for meta in report.rows:
            hourly = meta.hourly_stats_aggregated_by_advertiser_time_zone
            hour = WHOLE_DAY if hourly is None else int(hourly[:2])
            key = (meta.campaign_id, meta.date_start, hour)
            out[(*key, "impressions")] = meta.impressions
            out[(*key, "clicks")] = meta.clicks
            out[(*key, "cost")] = meta.spend
            if meta.reach is not None and hourly is None:  # people do not add up over hours
                out[(*key, "reach")] = meta.reach
            for action in meta.actions:
                if metric := META_ACTIONS.get(action.action_type):
                    out[(*key, metric)] = out.get((*key, metric), Decimal(0)) + action.value
    else:
        by_hour = report.time_granularity == "STAT_TIME_GRANULARITY_HOURLY"
        for ocean in report.rows:
            at = ocean.stat_datetime
            key = (ocean.campaign_id, at.date(), at.hour if by_hour else WHOLE_DAY)
            out[(*key, "impressions")] = ocean.show_cnt
            out[(*key, "clicks")] = ocean.click_cnt
            out[(*key, "conversions")] = ocean.convert_cnt
            out[(*key, "cost")] = ocean.stat_cost
    return out
