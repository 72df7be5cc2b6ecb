"""The shared metric dictionary: one definition per metric key, used by every service.

Planning validates objective metrics against these keys, metrics computes them, alerts writes
rules on them. ``kind`` tells how a metric accumulates over time: counters and money accumulate
(a target is pro-rated to elapsed time), ratios are compared as they are. ``aggregation`` tells
how figures of several entities (campaigns, channels), days or hours combine, and so whether a
total is a sum, a ratio of sums, the latest day's figure, or no total at all.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class MetricKind(StrEnum):
    """How a metric aggregates."""

    COUNTER = "counter"
    MONEY = "money"
    RATIO = "ratio"
    INDEX = "index"


class Aggregation(StrEnum):
    """How figures of several entities, days or hours combine into a total."""

    SUM = "sum"  # adds up across entities, days and hours
    # Unique people: the same person is in several campaigns' and days' figures, so no sum is
    # right. A total is only one entity-day's own figure; anything wider has none.
    NOT_ADDITIVE = "not_additive"
    DERIVED = "derived"  # computed from summed metrics: a ratio of sums, a formula
    # An index or a reported rate: the latest reported day's figure, never a sum over days;
    # given when one entity reports it that day (two entities' rates do not add up either).
    LATEST = "latest"


class MetricDefinition(BaseModel):
    """One metric: its key, meaning, aggregation kind and, for ratios, how it is derived."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    definition: str
    kind: MetricKind
    numerator: str | None = None
    denominator: str | None = None
    expression: str | None = None  # a derived metric's formula over summable metrics
    aggregation: Aggregation | None = None  # None: as its kind says (see ``aggregates``)

    @property
    def aggregates(self) -> Aggregation:
        """How the metric's figures combine: set explicitly, or from its kind."""
        if self.aggregation is not None:
            return self.aggregation
        if self.numerator or self.expression:
            return Aggregation.DERIVED
        if self.kind in (MetricKind.COUNTER, MetricKind.MONEY):
            return Aggregation.SUM
        return Aggregation.LATEST

    @property
    def additive(self) -> bool:
        """True when figures of several entities and days add up to a right total."""
        return self.aggregates is Aggregation.SUM


def _counter(key: str, name: str, definition: str) -> MetricDefinition:
    return MetricDefinition(key=key, name=name, definition=definition, kind=MetricKind.COUNTER)


def _ratio(key: str, name: str, numerator: str, denominator: str) -> MetricDefinition:
    return MetricDefinition(
        key=key,
        name=name,
        definition=f"{numerator} / {denominator}",
        kind=MetricKind.RATIO,
        numerator=numerator,
        denominator=denominator,
    )


METRICS: tuple[MetricDefinition, ...] = (
    _counter("impressions", "Impressions", "times the content was shown"),
    _counter("clicks", "Clicks", "times it was clicked"),
    _counter("conversions", "Conversions", "conversion actions attributed to the placement"),
    _counter("registrations", "New registered users", "sign-ups through a promotion channel"),
    _counter(
        "new_users",
        "New users",
        "registered through a promotion channel and completed a first order",
    ),
    _counter("first_orders", "First orders", "first orders placed by new registrations"),
    _counter("footfall", "Offline footfall", "visitors counted at an offline venue"),
    MetricDefinition(
        key="reach",
        name="Reach",
        definition="unique people who saw the content",
        kind=MetricKind.COUNTER,
        aggregation=Aggregation.NOT_ADDITIVE,
    ),
    MetricDefinition(key="cost", name="Cost", definition="actual spend", kind=MetricKind.MONEY),
    MetricDefinition(
        key="gmv", name="Campaign GMV", definition="gross merchandise value", kind=MetricKind.MONEY
    ),
    MetricDefinition(
        key="revenue", name="Revenue", definition="revenue attributed", kind=MetricKind.MONEY
    ),
    MetricDefinition(
        key="brand_search_index",
        name="Brand keyword search volume",
        definition="brand keyword search index",
        kind=MetricKind.INDEX,
    ),
    _ratio("ctr", "CTR", "clicks", "impressions"),
    _ratio("conversion_rate", "Conversion rate", "conversions", "clicks"),
    _ratio("cpc", "CPC", "cost", "clicks"),
    _ratio("cpa", "CPA", "cost", "conversions"),
    _ratio("roi", "ROI", "gmv", "cost"),
    MetricDefinition(
        key="next_day_retention",
        name="Next-day retention",
        definition="share of day-0 registrations active on day 1",
        kind=MetricKind.RATIO,
    ),
    # The count behind next-day retention: a funnel step, and a ratio of sums over any period.
    _counter(
        "retained_next_day",
        "Next-day retained users",
        "registrations of a day that are active again the next day",
    ),
    _counter("orders", "Orders", "orders placed by the customers a channel acquired"),
    _counter(
        "repeat_customers",
        "Repeat customers",
        "customers a channel acquired who placed a second order",
    ),
)

METRIC_DICTIONARY: dict[str, MetricDefinition] = {m.key: m for m in METRICS}

# What a derived metric's formula may read: metrics that add up over days, so a formula over
# any period's sums is a ratio of sums, never an average of daily ratios.
SUMMABLE_METRICS: frozenset[str] = frozenset(m.key for m in METRICS if m.additive)
# Metrics whose figures have no total beyond one entity-day, or beyond the latest day's one.
UNSUMMED_METRICS: frozenset[str] = frozenset(
    m.key for m in METRICS if m.aggregates in (Aggregation.NOT_ADDITIVE, Aggregation.LATEST)
)
# A derived metric's key: lower-case words joined by underscores, like the built-in ones.
METRIC_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


def known_metric(key: str | None, derived: Collection[str]) -> bool:
    """True for a built-in key or one of the derived keys the caller has learnt of."""
    return key is not None and (key in METRIC_DICTIONARY or key in derived)
