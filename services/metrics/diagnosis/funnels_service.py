"""Funnels with their bottleneck named, and trends of a plan's KPIs (docs/domain.md §9, the
diagnosis before an adjustment: "conversion bottlenecks", "trend analysis against history")."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.diagnosis import funnels, trends
from services.metrics.diagnosis.funnels_repository import ChannelCounts, FunnelsRepository
from services.metrics.diagnosis.funnels_schemas import (
    Bottleneck,
    CampaignComparison,
    Change,
    ChannelFunnel,
    FunnelStep,
    KpiTrend,
    PlanFunnels,
    PlanTrends,
    VersionComparison,
)
from services.metrics.dictionary import derived
from services.metrics.dictionary.catalogue import Dictionary
from services.metrics.kpis.service import summable, targets
from services.metrics.models import PlanTarget
from services.metrics.reporting.i18n import Words
from services.metrics.rollups.repository import PLAN_LEVEL, RollupsRepository
from services.metrics.rollups.service import checked_days
from shared.contract.events.planning import PlanCreatedV1, PlanTargetsSetV1, PlanUpdatedV1
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.kit.errors import RuleViolated
from shared.kit.settings import get_settings

EARLIER_CAMPAIGNS = 5  # the latest few campaigns of the product are history enough


async def on_plan_created(session: AsyncSession, event: PlanCreatedV1) -> None:
    """Keep the product a new plan promotes."""
    await FunnelsRepository(session).remember_product(event.plan_id, event.product, replace=False)


async def on_plan_updated(session: AsyncSession, event: PlanUpdatedV1) -> None:
    """Keep the product of an edited plan (an edit may change it while it is a draft)."""
    await FunnelsRepository(session).remember_product(event.plan_id, event.product, replace=True)


async def on_version_in_force(session: AsyncSession, event: PlanTargetsSetV1, at: datetime) -> None:
    """Keep the company day a plan version came into force (the event is sent on approval and
    on each applied adjustment)."""
    day = at.astimezone(ZoneInfo(get_settings().company_timezone)).date()
    await FunnelsRepository(session).remember_version(event.plan_id, event.version, day)


def _window(target: PlanTarget, first: date | None, last: date) -> tuple[date, date]:
    """[from, to], from defaulting to the plan's start; checked as the rollups check theirs."""
    return checked_days(first or target.starts_on, last), last


# --- funnels ---------------------------------------------------------------------------------


async def plan_funnels(
    session: AsyncSession,
    plan_id: uuid.UUID,
    first: date | None,
    last: date,
    words: Words,
    *,
    names: Mapping[str, str] | None = None,
    known_at: datetime | None = None,
) -> PlanFunnels:
    """The plan's funnel and each channel's, the bottleneck of each named in words.

    ``names`` (channel id → name) names channels the current version no longer has, which are
    otherwise shown by their id; with ``known_at``, the counts are those the system knew then.
    """
    target = await targets(session, plan_id)
    first, last = _window(target, first, last)
    before_first, before_last = trends.previous_window(first, last)
    repo = FunnelsRepository(session)
    now = await repo.channel_counts(plan_id, first, last, funnels.STEPS, known_at)
    then = await repo.channel_counts(plan_id, before_first, before_last, funnels.STEPS, known_at)
    days = (last - first).days + 1
    whole = _funnel(None, words("the whole plan"), _total(now), None, _total(then), days, words)
    channels = _total({k: v for k, v in now.items() if k != PLAN_LEVEL})
    return PlanFunnels(
        plan_id=plan_id,
        first=first,
        last=last,
        previous_first=before_first,
        previous_last=before_last,
        language=words.tag,
        plan=whole,
        channels=[
            _funnel(
                channel_id,
                name,
                now.get(str(channel_id), {}),
                funnels.others(channels, now.get(str(channel_id), {})),
                then.get(str(channel_id), {}),
                days,
                words,
            )
            for channel_id, name in _channels(target, now, names or {})
        ],
    )


def _total(counts: ChannelCounts) -> dict[str, Decimal]:
    """Several channels' counts added up."""
    total: dict[str, Decimal] = {}
    for per_metric in counts.values():
        for metric, value in per_metric.items():
            total[metric] = total.get(metric, Decimal(0)) + value
    return total


def _channels(
    target: PlanTarget, counts: ChannelCounts, names: Mapping[str, str]
) -> list[tuple[uuid.UUID, str]]:
    """The plan's channels in its mix's order, then any other channel facts were booked to
    (by its name in ``names``, else its id)."""
    named = [(uuid.UUID(c["channel_id"]), str(c["name"])) for c in target.channels]
    known = {str(channel_id) for channel_id, _ in named}
    extra = sorted(k for k in counts if k != PLAN_LEVEL and k not in known)
    return named + [(uuid.UUID(k), names.get(k, k)) for k in extra]


def _funnel(
    channel_id: uuid.UUID | None,
    name: str,
    counts: dict[str, Decimal],
    peers: dict[str, Decimal] | None,
    previous: dict[str, Decimal],
    days: int,
    words: Words,
) -> ChannelFunnel:
    steps = funnels.steps(counts, peers, previous)
    worst = funnels.bottleneck(steps)
    return ChannelFunnel(
        channel_id=channel_id,
        name=name,
        steps=[
            FunnelStep(
                metric=s.metric,
                name=words.metric(METRIC_DICTIONARY[s.metric].name),
                count=s.count,
                base=s.base,
                conversion=s.conversion,
                peers_conversion=s.peers,
                previous_conversion=s.previous,
                shortfall_vs_peers=s.shortfall_vs_peers,
                shortfall_vs_previous=s.shortfall_vs_previous,
            )
            for s in steps
        ],
        bottleneck=None
        if worst is None
        else Bottleneck(
            from_metric=worst.from_metric,
            metric=worst.metric,
            conversion=worst.conversion,
            comparison=worst.comparison,
            compared_with=worst.compared_with,
            shortfall=worst.shortfall,
        ),
        summary=_summary(name, steps, worst, days, words),
    )


def _summary(
    name: str,
    steps: list[funnels.Step],
    worst: funnels.Bottleneck | None,
    days: int,
    words: Words,
) -> str:
    """The bottleneck as a marketer reads it, or why there is none."""
    if worst is None:
        compared = any(
            s.shortfall_vs_peers is not None or s.shortfall_vs_previous is not None for s in steps
        )
        if compared:
            return words("No step of {channel} converts below its comparison.", channel=name)
        return words("Not enough figures to compare the funnel of {channel}.", channel=name)
    values: dict[str, Any] = {
        "channel": name,
        "before": words.metric(METRIC_DICTIONARY[worst.from_metric].name),
        "after": words.metric(METRIC_DICTIONARY[worst.metric].name),
        "rate": words.percent(worst.conversion, 2),
        "compared": words.percent(worst.compared_with, 2),
        "gap": words.percent(worst.shortfall, 0),
        "days": days,
    }
    if worst.comparison is funnels.Comparison.PEERS:
        return words(
            "Bottleneck of {channel}: {before} → {after} converts at {rate}, against {compared} "
            "on the plan's other channels ({gap} lower).",
            **values,
        )
    return words(
        "Bottleneck of {channel}: {before} → {after} converts at {rate}, against {compared} "
        "in the {days} days before ({gap} lower).",
        **values,
    )


# --- trends ----------------------------------------------------------------------------------


async def plan_trends(
    session: AsyncSession,
    plan_id: uuid.UUID,
    first: date | None,
    last: date,
    metrics: list[str] | None,
) -> PlanTrends:
    """Each KPI (the objectives' metrics, or ``metrics``) against the equally long period
    before and against the same days of the product's earlier campaigns."""
    target = await targets(session, plan_id)
    first, last = _window(target, first, last)
    dictionary = await derived.dictionary(session)
    keys = list(dict.fromkeys(metrics or [str(o["metric"]) for o in target.objectives]))
    unknown = sorted(set(keys) - dictionary.keys())
    if unknown:
        raise RuleViolated(f"unknown metric(s): {', '.join(unknown)}", field="metric")
    before_first, before_last = trends.previous_window(first, last)
    repo = FunnelsRepository(session)
    product = await repo.product(plan_id)
    earlier = (
        []
        if product is None
        else await repo.earlier_campaigns(product, plan_id, target.starts_on, EARLIER_CAMPAIGNS)
    )
    windows = trends.version_windows(
        await repo.versions(plan_id), target.version, target.starts_on, target.ends_on
    )
    now = await _values(session, plan_id, first, last, keys, dictionary)
    then = await _values(session, plan_id, before_first, before_last, keys, dictionary)
    campaigns = []
    for other in earlier:
        window = trends.aligned_window(first, last, target.starts_on, other.starts_on)
        campaigns.append(
            (other, window, await _values(session, other.plan_id, *window, keys, dictionary))
        )
    versions = [
        (
            version,
            (v_first, v_last),
            await _values(session, plan_id, v_first, v_last, keys, dictionary),
        )
        for version, v_first, v_last in windows
    ]
    return PlanTrends(
        plan_id=plan_id,
        product=product,
        first=first,
        last=last,
        previous_first=before_first,
        previous_last=before_last,
        currency=target.currency,
        kpis=[
            KpiTrend(
                metric=key,
                name=dictionary.name(key),
                previous_period=_change(now[key], then[key]),
                earlier_campaigns=[
                    CampaignComparison(
                        plan_id=other.plan_id,
                        name=other.name,
                        first=window[0],
                        last=window[1],
                        change=_change(now[key], values[key]),
                    )
                    for other, window, values in campaigns
                ],
                earlier_versions=[
                    _version_change(key, dictionary, (first, last), now, version, window, values)
                    for version, window, values in versions
                ],
            )
            for key in keys
        ],
    )


async def _values(
    session: AsyncSession,
    plan_id: uuid.UUID,
    first: date,
    last: date,
    keys: list[str],
    dictionary: Dictionary,
) -> dict[str, Decimal | None]:
    """The metrics over [first, last], net, as the KPIs compute them: a ratio of the period's
    sums, an index on its latest day, no total for what does not add up."""
    figures = await RollupsRepository(session).figures(plan_id, last, since=first)
    sums, latest = summable(figures, net=True)
    return {key: dictionary.value_of(key, sums, latest) for key in keys}


def _change(current: Decimal | None, earlier: Decimal | None) -> Change:
    found = trends.change(current, earlier)
    return Change(
        current=found.current,
        earlier=found.earlier,
        direction=found.direction,
        absolute=found.absolute,
        relative=found.relative,
    )


def _version_change(
    key: str,
    dictionary: Dictionary,
    window: tuple[date, date],
    now: dict[str, Decimal | None],
    version: int,
    version_window: tuple[date, date],
    then: dict[str, Decimal | None],
) -> VersionComparison:
    """A metric now against an earlier version's days: totals as daily averages, since the
    version ran for another number of days."""
    per_day = dictionary.accumulates(key)
    current, earlier = now[key], then[key]
    if per_day:
        current = trends.per_day(current, *window)
        earlier = trends.per_day(earlier, *version_window)
    return VersionComparison(
        version=version,
        first=version_window[0],
        last=version_window[1],
        per_day=per_day,
        change=_change(current, earlier),
    )
