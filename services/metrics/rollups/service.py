"""A plan's figures per day, week, month or hour and channel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.dictionary import derived
from services.metrics.dictionary.catalogue import BUILT_IN, Dictionary
from services.metrics.fx import rates
from services.metrics.kpis import kpi
from services.metrics.kpis.service import targets
from services.metrics.rollups.repository import RollupsRepository
from services.metrics.schemas import (
    Grain,
    PlanHourlyRollups,
    PlanRollups,
    RollupChannel,
    RollupGrain,
    RollupHour,
    RollupPeriod,
)
from shared.kit.errors import RuleViolated

MAX_ROLLUP_DAYS = 1100  # three years of days a request
MAX_HOURLY_DAYS = 31  # a month of hours a request


@dataclass
class _Totals:
    """Sums and latest-day totals of some days' rollup rows, gross and net, with the number of
    entity-days they add up (a metric that does not add up has no total over several)."""

    gross: dict[str, Decimal] = field(default_factory=dict)
    net: dict[str, Decimal] = field(default_factory=dict)
    gross_latest: dict[str, tuple[date, Decimal]] = field(default_factory=dict)
    net_latest: dict[str, tuple[date, Decimal]] = field(default_factory=dict)
    entity_days: dict[str, Decimal] = field(default_factory=dict)
    latest_entities: dict[str, tuple[date, Decimal]] = field(default_factory=dict)

    def add(
        self, day: date, metric: str, gross: Decimal, net: Decimal | None, entities: int = 1
    ) -> None:
        _add(self.gross, self.gross_latest, day, metric, gross)
        if net is not None:
            _add(self.net, self.net_latest, day, metric, net)
        _add(self.entity_days, self.latest_entities, day, metric, Decimal(entities))

    def values(
        self, metrics: list[str], *, net: bool, dictionary: Dictionary = BUILT_IN
    ) -> dict[str, Decimal | None]:
        sums, latest = (self.net, self.net_latest) if net else (self.gross, self.gross_latest)
        kept_sums, last = kpi.summable(
            sums,
            {m: v for m, (_, v) in latest.items()},
            {m: int(n) for m, n in self.entity_days.items()},
            {m: int(n) for m, (_, n) in self.latest_entities.items()},
        )
        return {m: dictionary.value_of(m, kept_sums, last) for m in metrics}


def _add(
    sums: dict[str, Decimal],
    latest: dict[str, tuple[date, Decimal]],
    day: date,
    metric: str,
    value: Decimal,
) -> None:
    sums[metric] = sums.get(metric, Decimal(0)) + value
    seen = latest.get(metric)
    if seen is None or seen[0] < day:
        latest[metric] = (day, value)
    elif seen[0] == day:
        latest[metric] = (day, seen[1] + value)


def _period(day: date, grain: Grain, first: date, last: date) -> tuple[date, date]:
    """The day's period (ISO week from Monday, calendar month), clipped to first..last."""
    if grain == "day":
        return day, day
    if grain == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=6)
    else:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return max(start, first), min(end, last)


def checked_days(first: date, last: date) -> date:
    """``first`` when [first, last] is a range a request may ask for (422 naming ``from``)."""
    if first > last:
        raise RuleViolated("from is after to", field="from", rule="date-range")
    if (last - first).days >= MAX_ROLLUP_DAYS:
        raise RuleViolated(
            f"at most {MAX_ROLLUP_DAYS} days a request", field="from", rule="date-range"
        )
    return first


Period = TypeVar("Period", tuple[date, date], datetime)  # (first, last day), or an hour


async def rollups(
    session: AsyncSession,
    plan_id: uuid.UUID,
    *,
    grain: RollupGrain,
    metrics: list[str],
    first: date | None,
    last: date,
    timezone: str,
    since: datetime | None = None,
    until: datetime | None = None,
    known_at: datetime | None = None,
) -> PlanRollups | PlanHourlyRollups:
    """A plan's metrics per hour, day, week or month and channel, in the company time zone.

    Days are business days in the company time zone: a fact reported by the hour is on the
    company day its hour starts in (so a day's hours add up to it); a whole-day fact stays on
    the day its source reported it for (it cannot be split between zones), and is in no hour. A
    day is its whole-day fact of a metric when there is one, else its hours. A ratio is the
    ratio of the period's sums and an index its figure on the period's latest reported day; a
    metric that does not add up (reach) has a value only where one entity-day makes it. Every
    grain knows the same metrics, derived ones included.

    Hours are [since, until), at most ``MAX_HOURLY_DAYS`` days; a time without an offset is read
    in the company time zone, and without ``since``/``until`` the range is the days ``first``
    (else ``last``) to ``last``.

    With ``known_at``, every figure is the one the system knew then (kpis.service.kpis).
    """
    if grain != "hour" and (since is not None or until is not None):
        raise RuleViolated("since and until bound hours: use from and to", field="since")
    dictionary = await derived.dictionary(session)
    unknown = sorted(set(metrics) - dictionary.keys())
    if unknown:
        raise RuleViolated(f"unknown metric(s): {', '.join(unknown)}", field="metric")
    target = await targets(session, plan_id)
    requested = list(dict.fromkeys(metrics))
    base = dictionary.base_metrics(requested)
    repo = RollupsRepository(session, known_at)
    if grain == "hour":
        zone = ZoneInfo(timezone)
        start, end = _hours(since, until, first, last, zone)
        hours = await repo.hourly(plan_id, start, end, base, timezone)
        hourly = _tally([(h, h, c, m, g, n, 1) for h, c, m, g, n in hours])
        return PlanHourlyRollups(
            plan_id=plan_id,
            grain="hour",
            timezone=timezone,
            since=start.astimezone(zone),
            until=end.astimezone(zone),
            metrics=requested,
            periods=[
                RollupHour(
                    start=hour.astimezone(zone),
                    values=total.values(requested, net=True, dictionary=dictionary),
                    values_gross=total.values(requested, net=False, dictionary=dictionary),
                    channels=_channels(per_channel, requested, dictionary),
                )
                for hour, (total, per_channel) in sorted(hourly.items())
            ],
            known_at=known_at,
        )
    first = checked_days(first or target.starts_on, last)
    days = await repo.channel_days(plan_id, first, last, base)
    totals = _tally(
        [(_period(d, grain, first, last), d, c, m, g, n, e) for d, c, m, g, n, e in days]
    )
    return PlanRollups(
        plan_id=plan_id,
        grain=grain,
        timezone=timezone,
        first=first,
        last=last,
        metrics=requested,
        additive={m: dictionary.additive(m) for m in requested},
        periods=[
            RollupPeriod(
                start=period[0],
                end=period[1],
                values=total.values(requested, net=True, dictionary=dictionary),
                values_gross=total.values(requested, net=False, dictionary=dictionary),
                channels=_channels(per_channel, requested, dictionary),
            )
            for period, (total, per_channel) in sorted(totals.items())
        ],
        currency=target.currency,
        missing_rates=await rates.missing(repo, target, first, last, base),
        known_at=known_at,
    )


def _tally(
    rows: list[tuple[Period, date, str, str, Decimal, Decimal | None, int]],
) -> dict[Period, tuple[_Totals, dict[str, _Totals]]]:
    """Each period's totals, and its totals per channel, from (period, day or hour,
    channel_key, metric, gross, net, entities) rows."""
    totals: dict[Period, tuple[_Totals, dict[str, _Totals]]] = {}
    for period, day, channel_key, metric, gross, net, entities in rows:
        total, per_channel = totals.setdefault(period, (_Totals(), {}))
        total.add(day, metric, gross, net, entities)
        per_channel.setdefault(channel_key, _Totals()).add(day, metric, gross, net, entities)
    return totals


def _channels(
    per_channel: dict[str, _Totals], requested: list[str], dictionary: Dictionary
) -> list[RollupChannel]:
    return [
        RollupChannel(
            channel_id=None if key == "plan" else uuid.UUID(key),
            values=figures.values(requested, net=True, dictionary=dictionary),
            values_gross=figures.values(requested, net=False, dictionary=dictionary),
        )
        for key, figures in sorted(per_channel.items())
    ]


def _hours(
    since: datetime | None, until: datetime | None, first: date | None, last: date, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """The [start, end) of the hours asked for, checked."""
    start = _aware(since, zone) if since else datetime.combine(first or last, time(), zone)
    end = _aware(until, zone) if until else datetime.combine(last + timedelta(days=1), time(), zone)
    if start >= end:
        raise RuleViolated("since is not before until", field="since", rule="hour-range")
    if end - start > timedelta(days=MAX_HOURLY_DAYS):
        raise RuleViolated(
            f"at most {MAX_HOURLY_DAYS} days of hours a request", field="since", rule="hour-range"
        )
    return start, end


def _aware(at: datetime, zone: ZoneInfo) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)
