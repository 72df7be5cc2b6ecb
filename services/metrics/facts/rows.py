"""Report rows as platforms send them, validated from raw bytes and mapped to facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.contract.metric_dictionary import METRIC_DICTIONARY, MetricKind

MAX_ROWS = 10_000
Count = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]
Entity = Annotated[str, Field(min_length=1, max_length=100)]
BASE_METRICS = frozenset(
    key
    for key, m in METRIC_DICTIONARY.items()
    if m.kind is not MetricKind.RATIO or m.numerator is None
)
# What a day's hours can be summed into: the dictionary's additive metrics (counts, amounts).
# Unique reach, reported ratios and indexes do not add up over hours: whole days only.
HOURLY_METRICS = frozenset(key for key in BASE_METRICS if METRIC_DICTIONARY[key].additive)
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
    date_stop: date | None = None
    impressions: Count = Decimal(0)
    clicks: Count = Decimal(0)
    spend: Count = Decimal(0)
    reach: Count | None = None
    actions: list[MetaAction] = Field(default_factory=list, max_length=100)
    hourly_stats_aggregated_by_advertiser_time_zone: MetaHour | None = None

    @field_validator("date_stop")
    @classmethod
    def _one_day(cls, stop: date | None, info: ValidationInfo) -> date | None:
        # A row over several days cannot be booked on any one of them: splitting it evenly
        # would invent daily figures, booking it whole on date_start would misplace them.
        start = info.data.get("date_start")
        if stop is not None and start is not None and stop != start:
            raise ValueError(
                f"the row covers {start} to {stop}; request the insights with "
                "time_increment=1 so that each row is one day"
            )
        return stop


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


class MetaInsightsResponse(BaseModel):
    """The Insights API's response as Meta returns it: ``{"data": [...], "paging": {...}}``.

    It carries no report time: the time it is received stands for it (``validate_report``)."""

    model_config = ConfigDict(extra="ignore")

    data: list[MetaInsightsRow] = Field(min_length=1, max_length=MAX_ROWS)
    paging: dict[str, Any] | None = None


Report = Annotated[CanonicalReport | MetaReport | OceanEngineReport, Field(discriminator="format")]
# Built once: validating the raw bytes in Rust is what keeps a 10,000-row batch cheap.
REPORT = TypeAdapter(Report)
META_RESPONSE = TypeAdapter(MetaInsightsResponse)
FORMATS = "canonical, meta_insights or ocean_engine"


def validate_report(body: bytes, now: datetime) -> CanonicalReport | MetaReport | OceanEngineReport:
    """The batch in ``body``: one of our formats, or Meta's own Insights response (a body with
    ``data`` and no ``format``), taken as a Meta batch reported at ``now``.

    Raises ValidationError; a body that is neither says which formats are accepted."""
    try:
        return REPORT.validate_json(body)
    except ValidationError as exc:
        if not any(e["type"] == "union_tag_not_found" for e in exc.errors()):
            raise
        untagged = exc
    try:
        response = META_RESPONSE.validate_json(body)
    except ValidationError as exc:
        if any(e["type"] == "missing" and e["loc"] == ("data",) for e in exc.errors()):
            raise untagged from None  # neither: the caller explains what to send
        raise
    return MetaReport(format="meta_insights", report_time=now, rows=response.data)


# Meta reports one conversion under several overlapping action types (``omni_purchase`` holds
# ``purchase``, which holds the pixel's ``offsite_conversion.fb_pixel_purchase``): each metric
# takes the first of its types that a row carries, never their sum. A source may name its own
# order (``Source.meta_action_types``) for any metric that adds up.
META_ACTION_TYPES: dict[str, tuple[str, ...]] = {
    "conversions": ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase"),
    "registrations": (
        "omni_complete_registration",
        "complete_registration",
        "offsite_conversion.fb_pixel_complete_registration",
    ),
}
ActionTypes = Mapping[str, Sequence[str]]


def action_types(configured: ActionTypes | None) -> dict[str, tuple[str, ...]]:
    """The preference order per metric: a source's own, else the default."""
    return {**META_ACTION_TYPES, **{k: tuple(v) for k, v in (configured or {}).items()}}


def chosen_actions(
    actions: Sequence[MetaAction], preference: Mapping[str, Sequence[str]]
) -> dict[str, Decimal]:
    """Each metric's value from the first action type in its preference order that the row
    carries (entries of that one type are added: they are breakdowns of it)."""
    by_type: dict[str, Decimal] = {}
    for action in actions:
        by_type[action.action_type] = by_type.get(action.action_type, Decimal(0)) + action.value
    out: dict[str, Decimal] = {}
    for metric, order in preference.items():
        chosen = next((t for t in order if t in by_type), None)
        if chosen is not None:
            out[metric] = by_type[chosen]
    return out


FactKey = tuple[str, date, int, str]  # entity, day, hour (WHOLE_DAY for the day), metric


def facts(
    report: CanonicalReport | MetaReport | OceanEngineReport,
    meta_action_types: ActionTypes | None = None,
) -> dict[FactKey, Decimal]:
    """The batch as (entity, day, hour, metric) → value; a repeated key keeps its last value.

    ``meta_action_types`` is the source's own preference order of Meta action types."""
    out: dict[FactKey, Decimal] = {}
    if isinstance(report, CanonicalReport):
        for row in report.rows:
            hour = WHOLE_DAY if row.hour is None else row.hour
            out[(row.entity, row.day, hour, row.metric)] = row.value
    elif isinstance(report, MetaReport):
        preference = action_types(meta_action_types)
        for meta in report.rows:
            hourly = meta.hourly_stats_aggregated_by_advertiser_time_zone
            hour = WHOLE_DAY if hourly is None else int(hourly[:2])
            key = (meta.campaign_id, meta.date_start, hour)
            out[(*key, "impressions")] = meta.impressions
            out[(*key, "clicks")] = meta.clicks
            out[(*key, "cost")] = meta.spend
            if meta.reach is not None and hourly is None:  # people do not add up over hours
                out[(*key, "reach")] = meta.reach
            for metric, value in chosen_actions(meta.actions, preference).items():
                out[(*key, metric)] = value
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
