"""Fake-registration fraud signals (docs/domain.md §6) as pure functions over numbers: no database.

Each signal looks at one entity-day (a platform campaign, or for internal sources a school or
ambassador channel code) against either its own history or its peers in the same plan that day:

* ``registrations_spike`` / ``conversions_spike``: the day is far above the entity's own
  history (robust z-score: median and MAD, so one earlier spike does not hide the next);
* ``low_retention``: next-day retention far below the peers' median;
* ``conversions_without_clicks``: conversions or registrations on a day the entity reports
  clicks, and they are zero;
* ``ctr_outlier``: a click-through rate far from the peers' (robust z-score across peers);
* ``registrations_peer_outlier``: registrations far above the same source's other entities
  that day (a multiple of their median and a robust z-score), with no history needed: the new
  school whose first day is 300 sign-ups against its peers' 30.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# 0.6745 is the 75th percentile of the standard normal: it makes MAD comparable to a std dev.
MAD_SCALE = Decimal("0.6745")
SCORE_PLACES = Decimal("0.0001")

SPIKE_METRICS = ("registrations", "conversions")
RETENTION_METRIC = "next_day_retention"
SIGNALS = (
    "registrations_spike",
    "conversions_spike",
    "low_retention",
    "conversions_without_clicks",
    "ctr_outlier",
    "registrations_peer_outlier",
)
PEER_METRIC = "registrations"


class FraudThresholds(BaseSettings):
    """When a signal fires; each can be set in the environment (``METRICS_FRAUD_Z_THRESHOLD``)."""

    model_config = SettingsConfigDict(env_prefix="METRICS_FRAUD_", extra="ignore", frozen=True)

    z_threshold: Decimal = Field(default=Decimal("3.5"), gt=0)
    min_history: int = Field(default=7, ge=3, description="earlier days needed for a spike")
    history_days: int = Field(default=28, ge=3, description="how far back a spike looks")
    # The MAD never goes below max(absolute floor, relative floor × |median|): a flat history
    # (every day 10) would otherwise make 11 an infinite z-score.
    mad_floor: Decimal = Field(default=Decimal(1), gt=0)
    mad_floor_ratio: Decimal = Field(default=Decimal("0.1"), ge=0)
    min_spike_value: Decimal = Field(default=Decimal(20), ge=0, description="ignore tiny days")
    retention_ratio: Decimal = Field(
        default=Decimal("0.5"), gt=0, lt=1, description="below this share of the peers' median"
    )
    min_peers: int = Field(default=3, ge=1, description="other entities needed for a comparison")
    min_registrations: Decimal = Field(
        default=Decimal(20), ge=0, description="registrations needed to judge retention"
    )
    min_unclicked: Decimal = Field(
        default=Decimal(1), gt=0, description="conversions with zero clicks that count"
    )
    min_impressions: Decimal = Field(
        default=Decimal(100), ge=0, description="impressions needed to judge a CTR"
    )
    ctr_mad_floor: Decimal = Field(default=Decimal("0.001"), gt=0)
    lookback_days: int = Field(default=3, ge=1, description="recent days the job re-examines")
    # The peer outlier fires only when both hold: the multiple (what a campus team reads, "10x
    # the median") and the robust z-score (so a peer group that varies a lot is not flagged).
    peer_ratio: Decimal = Field(
        default=Decimal(10), gt=1, description="registrations over the peers' median"
    )
    peer_z_threshold: Decimal = Field(default=Decimal("3.5"), gt=0)
    # Fraud on arrival (arrivals.py): how often the job follows new facts, and how far back
    # each run reads again for batches that committed late.
    arrival_interval_seconds: float = Field(default=20, gt=0, le=60)
    arrival_overlap_seconds: float = Field(default=60, gt=0)


DEFAULTS = FraudThresholds()


@dataclass(frozen=True)
class Signal:
    """A signal that fired on one entity-day."""

    signal: str
    score: Decimal
    detail: str


def _mad_floor(center: Decimal, absolute: Decimal, ratio: Decimal) -> Decimal:
    return max(absolute, ratio * abs(center))


def robust_z(
    value: Decimal,
    reference: Sequence[Decimal],
    *,
    min_count: int,
    mad_floor: Decimal,
    mad_floor_ratio: Decimal = Decimal(0),
) -> Decimal | None:
    """How far ``value`` is from ``reference`` in MADs (scaled); None with too few references."""
    if len(reference) < min_count:
        return None
    center = Decimal(median(reference))
    mad = Decimal(median([abs(x - center) for x in reference]))
    mad = max(mad, _mad_floor(center, mad_floor, mad_floor_ratio))
    return (MAD_SCALE * (value - center) / mad).quantize(SCORE_PLACES)


def spike(
    metric: str, value: Decimal, history: Sequence[Decimal], t: FraudThresholds = DEFAULTS
) -> Signal | None:
    """The day's value far above the entity's own earlier days (only rises are suspicious)."""
    if value < t.min_spike_value:
        return None
    z = robust_z(
        value,
        history,
        min_count=t.min_history,
        mad_floor=t.mad_floor,
        mad_floor_ratio=t.mad_floor_ratio,
    )
    if z is None or z < t.z_threshold:
        return None
    return Signal(
        f"{metric}_spike",
        z,
        f"{metric} {value.normalize():f} against a median of "
        f"{Decimal(median(history)).normalize():f} over {len(history)} earlier days "
        f"(robust z {z})",
    )


def low_retention(
    retention: Decimal,
    registrations: Decimal | None,
    peers: Sequence[Decimal],
    t: FraudThresholds = DEFAULTS,
) -> Signal | None:
    """Next-day retention far below the median of the plan's other entities that day."""
    if registrations is not None and registrations < t.min_registrations:
        return None
    if len(peers) < t.min_peers:
        return None
    center = Decimal(median(peers))
    if center <= 0 or retention >= center * t.retention_ratio:
        return None
    ratio = (retention / center).quantize(SCORE_PLACES)
    return Signal(
        "low_retention",
        ratio,
        f"next-day retention {retention.normalize():f} is {ratio * 100:.0f}% of the peers' "
        f"median {center.normalize():f} ({len(peers)} peers)",
    )


def conversions_without_clicks(
    clicks: Decimal | None,
    conversions: Decimal | None,
    registrations: Decimal | None,
    t: FraudThresholds = DEFAULTS,
) -> Signal | None:
    """Conversions (or registrations) on a day the entity reports zero clicks."""
    if clicks is None or clicks != 0:
        return None  # an entity that does not report clicks proves nothing
    counted = max(conversions or Decimal(0), registrations or Decimal(0))
    if counted < t.min_unclicked:
        return None
    what = "conversions" if (conversions or 0) >= (registrations or 0) else "registrations"
    return Signal(
        "conversions_without_clicks",
        counted,
        f"{counted.normalize():f} {what} with 0 clicks reported",
    )


def ctr(clicks: Decimal | None, impressions: Decimal | None) -> Decimal | None:
    """Clicks over impressions, when there are impressions."""
    if clicks is None or not impressions:
        return None
    return clicks / impressions


def ctr_outlier(
    clicks: Decimal | None,
    impressions: Decimal | None,
    peers: Sequence[Decimal],
    t: FraudThresholds = DEFAULTS,
) -> Signal | None:
    """A CTR far from the peers' (click farms push it up, bot impressions push it down)."""
    if impressions is None or impressions < t.min_impressions:
        return None
    rate = ctr(clicks, impressions)
    if rate is None:
        return None
    z = robust_z(
        rate, peers, min_count=t.min_peers, mad_floor=t.ctr_mad_floor, mad_floor_ratio=Decimal(0)
    )
    if z is None or abs(z) < t.z_threshold:
        return None
    return Signal(
        "ctr_outlier",
        z,
        f"CTR {rate:.4f} against the peers' median {Decimal(median(peers)):.4f} "
        f"({len(peers)} peers, robust z {z})",
    )


def peer_outlier(
    registrations: Decimal | None, peers: Sequence[Decimal], t: FraudThresholds = DEFAULTS
) -> Signal | None:
    """Registrations far above the peers' median the same day, history or not."""
    if registrations is None or registrations < t.min_spike_value:
        return None
    z = robust_z(
        registrations,
        peers,
        min_count=t.min_peers,
        mad_floor=t.mad_floor,
        mad_floor_ratio=t.mad_floor_ratio,
    )
    center = Decimal(median(peers)) if peers else Decimal(0)
    if z is None or z < t.peer_z_threshold or registrations < t.peer_ratio * center:
        return None
    multiple = f"{registrations / center:.1f}x" if center > 0 else "far above"
    return Signal(
        f"{PEER_METRIC}_peer_outlier",
        z,
        f"{PEER_METRIC} {registrations.normalize():f} is {multiple} the peers' median "
        f"{center.normalize():f} ({len(peers)} peers, robust z {z})",
    )


Values = Mapping[str, Decimal]


def examine(
    today: Values,
    history: Mapping[str, Sequence[Decimal]],
    peers: Sequence[Values],
    t: FraudThresholds = DEFAULTS,
    kin: Sequence[Values] | None = None,
) -> list[Signal]:
    """Every signal of one entity-day.

    ``today`` holds the entity's metrics that day, ``history`` each spike metric's values on
    its earlier days, ``peers`` the metrics of the plan's other entities that day, ``kin``
    those of them from the same source (schools against schools, not against ad campaigns;
    ``peers`` when not given).
    """
    found: list[Signal | None] = [
        spike(metric, today[metric], history.get(metric, ()), t)
        for metric in SPIKE_METRICS
        if metric in today
    ]
    if RETENTION_METRIC in today:
        found.append(
            low_retention(
                today[RETENTION_METRIC],
                today.get("registrations"),
                [
                    p[RETENTION_METRIC]
                    for p in peers
                    if RETENTION_METRIC in p
                    and p.get("registrations", t.min_registrations) >= t.min_registrations
                ],
                t,
            )
        )
    found.append(
        conversions_without_clicks(
            today.get("clicks"), today.get("conversions"), today.get("registrations"), t
        )
    )
    peer_ctrs = [
        rate
        for p in peers
        if p.get("impressions", Decimal(0)) >= t.min_impressions
        and (rate := ctr(p.get("clicks"), p.get("impressions"))) is not None
    ]
    found.append(ctr_outlier(today.get("clicks"), today.get("impressions"), peer_ctrs, t))
    same_kind = peers if kin is None else kin
    found.append(
        peer_outlier(
            today.get(PEER_METRIC), [p[PEER_METRIC] for p in same_kind if PEER_METRIC in p], t
        )
    )
    return [s for s in found if s is not None]
