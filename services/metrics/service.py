"""Metrics' domain operations: sources, the target projection, KPIs, evaluation, snapshots."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import currency, derived, kpi, rates
from services.metrics.dictionary import BUILT_IN, Dictionary
from services.metrics.ingest import outbox
from services.metrics.models import PlanTarget, Source, idempotency
from services.metrics.repository import Figures, MetricsRepository
from services.metrics.schemas import (
    ChannelFigures,
    EarlierTarget,
    Evaluation,
    EvaluationNoteIn,
    EvaluationRow,
    Grain,
    MappingIn,
    ObjectiveKpi,
    PeriodComparison,
    PlanHourlyRollups,
    PlanKpis,
    PlanRollups,
    RollupChannel,
    RollupHour,
    RollupPeriod,
    SecretRead,
    SourceCreate,
    SourceRead,
)
from services.metrics.signatures import new_secret
from shared.contract.events.metrics import (
    KpiSnapshotV1,
    MetricsUpdatedV1,
    MetricValue,
    ObjectiveAchievement,
    SpendRecordedV1,
)
from shared.contract.events.planning import PlanTargetsSetV1
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.contract.types import Money
from shared.kit.errors import NotFound, RuleViolated
from shared.kit.jobs import PeriodicJob
from shared.kit.secrets import secret_box
from shared.kit.settings import Settings

MAX_ROLLUP_DAYS = 1100  # three years of days a request
MAX_HOURLY_DAYS = 31  # a month of hours a request
DAY_METRICS = (
    "impressions",
    "clicks",
    "conversions",
    "cost",
    "ctr",
    "conversion_rate",
    "cpc",
    "cpa",
)


def _source_read(source: Source, reveal: tuple[str, str] | None = None) -> SourceRead:
    """The source as shown; ``reveal`` is a new secret's (id, value), shown this once."""
    return SourceRead(
        id=source.id,
        name=source.name,
        platform=source.platform,
        account_id=source.account_id,
        timezone=source.timezone,
        currency=source.currency,
        settlement_days=source.settlement_days,
        secrets=[
            SecretRead(
                id=s["id"],
                active=s["active"],
                created_at=s["created_at"],
                secret=reveal[1] if reveal and s["id"] == reveal[0] else None,
            )
            for s in source.secrets
        ],
        kind=source.kind,
        system=source.system,
        token_subjects=source.token_subjects,
        meta_action_types=source.meta_action_types,
    )


def _secret() -> tuple[dict[str, Any], tuple[str, str]]:
    """A new secret as stored (sealed), and its (id, value) to show once."""
    value, secret_id = new_secret(), uuid.uuid4().hex[:12]
    stored: dict[str, Any] = {
        "id": secret_id,
        "sealed": secret_box().seal(value),
        "active": True,
        "created_at": datetime.now(UTC).isoformat(),
    }
    return stored, (secret_id, value)


async def create_source_once(
    session: AsyncSession, data: SourceCreate, caller: str, key: str | None
) -> SourceRead:
    """Register a source once per Idempotency-Key; the kept answer shows the secret, so it is
    sealed like the source's own copy."""
    return await idempotency.run(
        session,
        key=key,
        principal=caller,
        scope="POST /metrics/sources",
        request=data,
        produce=lambda: create_source(session, data),
        model=SourceRead,
        sealed=True,
    )


async def create_source(session: AsyncSession, data: SourceCreate) -> SourceRead:
    """Register a source with its first signing secret (shown once); an internal source has
    none: its service token subjects authenticate it."""
    if data.kind == "internal":
        internal = Source(id=uuid.uuid4(), **data.model_dump(), secrets=[])
        await MetricsRepository(session).add(internal)
        return _source_read(internal)
    first, shown = _secret()
    source = Source(id=uuid.uuid4(), **data.model_dump(), secrets=[first])
    await MetricsRepository(session).add(source)
    return _source_read(source, reveal=shown)


async def rotate_secret(
    session: AsyncSession, source_id: uuid.UUID, retire: str | None
) -> SourceRead:
    """Add a secret (old and new both verify meanwhile), or retire one by id."""
    source = await _source(session, source_id)
    if source.kind == "internal":
        raise RuleViolated(
            "an internal source posts with a service token and has no signing secrets",
            field="source_id",
            rule="internal-source-has-no-secrets",
        )
    if retire:
        if retire not in {s["id"] for s in source.secrets}:
            raise NotFound(f"source {source_id} has no secret {retire}")
        source.secrets = [
            {**s, "active": s["active"] and s["id"] != retire} for s in source.secrets
        ]
        await session.flush()
        return _source_read(source)
    added, shown = _secret()
    source.secrets = [*source.secrets, added]
    await session.flush()
    return _source_read(source, reveal=shown)


async def _source(session: AsyncSession, source_id: uuid.UUID) -> Source:
    source = await MetricsRepository(session).source(source_id)
    if source is None:
        raise NotFound(f"no metrics source {source_id}")
    return source


async def list_sources(session: AsyncSession) -> list[SourceRead]:
    """Every source (secrets hidden)."""
    return [_source_read(s) for s in await MetricsRepository(session).sources()]


async def map_entities(session: AsyncSession, source_id: uuid.UUID, items: list[MappingIn]) -> None:
    """Map platform campaigns to plans and channels; facts already stored move with them."""
    await _source(session, source_id)
    repo = MetricsRepository(session)
    for item in items:
        await repo.upsert_mapping(source_id, item.entity, item.plan_id, item.channel_id)
        await repo.move_entity(source_id, item.entity, item.plan_id, item.channel_id)


async def on_targets(session: AsyncSession, event: PlanTargetsSetV1) -> None:
    """Keep the newest targets of a plan, and the earlier versions' for comparison."""
    repo = MetricsRepository(session)
    current = await repo.target(event.plan_id)
    objectives = [o.model_dump(mode="json") for o in event.objectives]
    channels = [c.model_dump(mode="json") for c in event.channels]
    if current is None:
        await repo.add(
            PlanTarget(
                plan_id=event.plan_id,
                version=event.version,
                name=event.name,
                starts_on=event.starts_on,
                ends_on=event.ends_on,
                currency=event.currency,
                objectives=objectives,
                channels=channels,
                history=[],
            )
        )
        if event.currency != currency.DEFAULT_PLAN_CURRENCY:
            await repo.mark_money_dirty(event.plan_id)  # facts so far were taken to be in CNY
        return
    if event.version <= current.version:
        return  # an older version arriving late changes nothing
    current.history = [
        *current.history,
        # Channels kept too: the report shows the ones a budget move took out of the mix.
        {
            "version": current.version,
            "objectives": current.objectives,
            "channels": current.channels,
        },
    ]
    current.version, current.name = event.version, event.name
    current.starts_on, current.ends_on = event.starts_on, event.ends_on
    current.objectives, current.channels = objectives, channels
    await session.flush()


async def _targets(session: AsyncSession, plan_id: uuid.UUID) -> PlanTarget:
    target = await MetricsRepository(session).target(plan_id)
    if target is None:
        raise NotFound(f"no targets known for plan {plan_id} (it is not approved yet)")
    return target


def _standing(
    objective: dict[str, Any],
    target: PlanTarget,
    sums: dict[str, Decimal],
    latest: dict[str, Decimal],
    as_of: date,
    metrics: Dictionary = BUILT_IN,
) -> kpi.Achievement:
    return kpi.achievement(
        metric=objective["metric"],
        target_kind=objective["target_kind"],
        target=Decimal(objective["target_value"]),
        baseline=Decimal(objective["baseline_value"]) if objective["baseline_value"] else None,
        value=metrics.value_of(objective["metric"], sums, latest),
        starts_on=target.starts_on,
        due_on=date.fromisoformat(objective["due_on"]),
        as_of=as_of,
        accumulating=metrics.accumulates(objective["metric"]),
    )


async def kpis(session: AsyncSession, plan_id: uuid.UUID, as_of: date) -> PlanKpis:
    """Each objective's actual, achievement, expected-to-date and projection.

    The headline figures are net of entity-days excluded as fraudulent; gross is shown beside.
    """
    target = await _targets(session, plan_id)
    repo = MetricsRepository(session)
    metrics = await derived.dictionary(session)
    # The campaign counts from its first day; what came before is the previous period.
    figures = await repo.figures(plan_id, as_of, since=target.starts_on)
    gross_sums, gross_latest = _summable(figures, net=False)
    excluded = await repo.excluded_entity_days(plan_id, as_of)
    if excluded:
        net_sums, net_latest = _summable(figures, net=True)
    else:
        net_sums, net_latest = gross_sums, gross_latest
    rows = []
    for objective in target.objectives:
        gross = _standing(objective, target, gross_sums, gross_latest, as_of, metrics)
        standing = _standing(objective, target, net_sums, net_latest, as_of, metrics)
        rows.append(
            ObjectiveKpi(
                objective_id=objective["objective_id"],
                type=objective["type"],
                metric=objective["metric"],
                target_kind=objective["target_kind"],
                target=Decimal(objective["target_value"]),
                baseline=Decimal(objective["baseline_value"])
                if objective["baseline_value"]
                else None,
                actual=standing.actual,
                achievement=standing.achievement,
                expected_to_date=standing.expected_to_date,
                projected_at_due=standing.projected,
                due_on=objective["due_on"],
                actual_gross=gross.actual,
                achievement_gross=gross.achievement,
                actual_net=standing.actual,
                achievement_net=standing.achievement,
                additive=metrics.additive(objective["metric"]),
            )
        )
    final = await final_through(repo, plan_id, as_of)
    last = await repo.last_day(plan_id, as_of) if final is not None else None
    return PlanKpis(
        plan_id=plan_id,
        plan_version=target.version,
        as_of=as_of,
        objectives=rows,
        excluded_entity_days=excluded,
        final_through=final,
        provisional=final is not None and last is not None and last > final,
        currency=target.currency,
        missing_rates=await rates.missing(repo, target, target.starts_on, as_of),
    )


def _summable(figures: Figures, *, net: bool) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Gross or net sums and latest-day totals, less those that are no right total."""
    sums, latest = (
        (figures.net_sums, figures.net_latest)
        if net
        else (figures.gross_sums, figures.gross_latest)
    )
    return kpi.summable(sums, latest, figures.entity_days, figures.latest_entities)


async def final_through(repo: MetricsRepository, plan_id: uuid.UUID, today: date) -> date | None:
    """The last day whose figures no source of the plan will restate any more (Meta freezes
    after 28 days, AppsFlyer after 2): today minus the longest settlement window."""
    window = await repo.settlement_days(plan_id)
    return None if window is None else today - timedelta(days=window)


FOUR = Decimal("0.0001")


async def _previous_period(
    repo: MetricsRepository, target: PlanTarget, as_of: date, metrics: Dictionary = BUILT_IN
) -> Callable[[str], PeriodComparison | None]:
    """Each metric over the campaign so far against the equally long period before its start
    (net of excluded fraud both times): what the campaign changed."""
    last = min(as_of, target.ends_on)
    length = (last - target.starts_on).days + 1
    if length < 1:
        return lambda _metric: None
    first_before = target.starts_on - timedelta(days=length)
    last_before = target.starts_on - timedelta(days=1)
    now = await repo.figures(target.plan_id, last, since=target.starts_on)
    then = await repo.figures(target.plan_id, last_before, since=first_before)

    def compare(metric: str) -> PeriodComparison:
        current = metrics.value_of(metric, *_summable(now, net=True))
        earlier = metrics.value_of(metric, *_summable(then, net=True))
        change = (current / earlier - 1) if current is not None and earlier else None
        return PeriodComparison(
            first_day=first_before,
            last_day=last_before,
            actual=None if earlier is None else f"{earlier.normalize():f}",
            change=None if change is None else f"{change * 100:+.0f}%",
        )

    return compare


def _earlier_targets(target: PlanTarget, row: ObjectiveKpi) -> list[EarlierTarget]:
    """The objective's target in earlier versions, where an adjustment changed it."""
    earlier = []
    current = row.target
    for kept in reversed(target.history):
        found = next(
            (o for o in kept["objectives"] if o["objective_id"] == str(row.objective_id)), None
        )
        if found is None:
            continue
        value = Decimal(found["target_value"])
        if value != current:
            ratio = (
                (row.actual / value).quantize(Decimal("0.0001")) if row.actual and value else None
            )
            earlier.append(
                EarlierTarget(
                    version=kept["version"],
                    target=_shown(row, value) or "",
                    achievement=_percent(ratio),
                )
            )
        current = value
    return earlier[::-1]


def _percent(ratio: Decimal | None) -> str | None:
    return None if ratio is None else f"{(ratio * 100).quantize(Decimal('1'))}%"


def _shown(row: ObjectiveKpi, value: Decimal | None) -> str | None:
    if value is None:
        return None
    if row.target_kind == "relative":
        return f"{value.normalize():+f}%"
    if row.metric == "roi":
        return f"1:{value.normalize():f}"
    return (
        f"{value.quantize(Decimal('1')):,}"
        if value == value.to_integral()
        else f"{value.normalize():,f}"
    )


async def evaluation(session: AsyncSession, plan_id: uuid.UUID, as_of: date) -> Evaluation:
    """The DOMAIN.md §6 table, with users' analysis, plus the channel comparison."""
    target = await _targets(session, plan_id)
    repo = MetricsRepository(session)
    notes = await repo.notes(plan_id)
    standing = await kpis(session, plan_id, as_of)
    metrics = await derived.dictionary(session)
    before = await _previous_period(repo, target, as_of, metrics)
    rows = []
    for row in standing.objectives:
        note = notes.get(row.objective_id)
        rows.append(
            EvaluationRow(
                objective_id=row.objective_id,
                dimension=row.type.replace("_", " "),
                metric=metrics.name(row.metric),
                target=_shown(row, row.target) or "",
                actual=_shown(row, row.actual),
                achievement=_percent(row.achievement),
                previous_period=before(row.metric),
                earlier_targets=_earlier_targets(target, row),
                data_source=note.data_source if note else None,
                analysis=note.analysis if note else None,
                suggestion=note.suggestion if note else None,
            )
        )
    names = {uuid.UUID(c["channel_id"]): c["name"] for c in target.channels}
    channels = [
        ChannelFigures(
            channel_id=channel,
            name=names.get(channel, "unmapped") if channel else "plan level",
            cost=sums.get("cost"),
            ctr=kpi.value_of("ctr", sums, {}),
            conversion_rate=kpi.value_of("conversion_rate", sums, {}),
            roi=kpi.value_of("roi", sums, {}),
        )
        for channel, sums in (await repo.channel_sums(plan_id, as_of)).items()
    ]
    return Evaluation(
        plan_id=plan_id,
        plan_name=target.name,
        plan_version=target.version,
        as_of=as_of,
        rows=rows,
        channels=sorted(channels, key=lambda c: c.name),
        currency=target.currency,
        missing_rates=standing.missing_rates,
    )


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


def _base_metrics(metrics: list[str], dictionary: Dictionary = BUILT_IN) -> list[str]:
    """The summed metrics the requested ones are computed from (a ratio needs its parts)."""
    return dictionary.base_metrics(metrics)


async def rollups(
    session: AsyncSession,
    plan_id: uuid.UUID,
    *,
    grain: Grain,
    metrics: list[str],
    first: date | None,
    last: date,
    timezone: str,
) -> PlanRollups:
    """A plan's metrics per day, week or month and channel, summed from the daily rollups.

    Days are business days in the company time zone: a fact reported by the hour is on the
    company day its hour starts in (as in the hour grain, so a day's hours add up to it); a
    whole-day fact stays on the day its source reported it for (it cannot be split between
    zones). A day is its whole-day fact of a metric when there is one, else its hours. A ratio is
    the ratio of the period's sums and an index its figure on the period's latest reported day;
    a metric that does not add up (reach) has a value only where one entity-day makes it.
    """
    dictionary = await derived.dictionary(session)
    unknown = sorted(set(metrics) - dictionary.keys())
    if unknown:
        raise RuleViolated(f"unknown metric(s): {', '.join(unknown)}", field="metric")
    target = await _targets(session, plan_id)
    first = first or target.starts_on
    if first > last:
        raise RuleViolated("from is after to", field="from", rule="date-range")
    if (last - first).days >= MAX_ROLLUP_DAYS:
        raise RuleViolated(
            f"at most {MAX_ROLLUP_DAYS} days a request", field="from", rule="date-range"
        )
    requested = list(dict.fromkeys(metrics))
    totals: dict[tuple[date, date], _Totals] = {}
    channels: dict[tuple[date, date], dict[str, _Totals]] = {}
    rows = await MetricsRepository(session).channel_days(
        plan_id, first, last, _base_metrics(requested, dictionary)
    )
    for day, channel_key, metric, gross, net, entities in rows:
        period = _period(day, grain, first, last)
        totals.setdefault(period, _Totals()).add(day, metric, gross, net, entities)
        per_channel = channels.setdefault(period, {})
        per_channel.setdefault(channel_key, _Totals()).add(day, metric, gross, net, entities)
    periods = [
        RollupPeriod(
            start=start,
            end=end,
            values=total.values(requested, net=True, dictionary=dictionary),
            values_gross=total.values(requested, net=False, dictionary=dictionary),
            channels=[
                RollupChannel(
                    channel_id=None if key == "plan" else uuid.UUID(key),
                    values=figures.values(requested, net=True, dictionary=dictionary),
                    values_gross=figures.values(requested, net=False, dictionary=dictionary),
                )
                for key, figures in sorted(channels[(start, end)].items())
            ],
        )
        for (start, end), total in sorted(totals.items())
    ]
    return PlanRollups(
        plan_id=plan_id,
        grain=grain,
        timezone=timezone,
        first=first,
        last=last,
        metrics=requested,
        additive={m: dictionary.additive(m) for m in requested},
        periods=periods,
        currency=target.currency,
        missing_rates=await rates.missing(
            MetricsRepository(session), target, first, last, _base_metrics(requested)
        ),
    )


async def hourly_rollups(
    session: AsyncSession,
    plan_id: uuid.UUID,
    *,
    metrics: list[str],
    since: datetime | None,
    until: datetime | None,
    first: date | None,
    last: date,
    timezone: str,
) -> PlanHourlyRollups:
    """A plan's metrics per company-time-zone hour and channel in [since, until), at most
    ``MAX_HOURLY_DAYS`` days; a ratio is the ratio of the hour's sums.

    A time without an offset is read in the company time zone. Without ``since``/``until`` the
    range is the days ``first`` (else ``last``) to ``last`` in the company time zone. Hours come
    from facts reported by the hour, each moved from its source's zone to the company's; facts
    reported for a whole day stay on their day and are not in any hour.
    """
    unknown = sorted(set(metrics) - set(METRIC_DICTIONARY))
    if unknown:
        raise RuleViolated(f"unknown metric(s): {', '.join(unknown)}", field="metric")
    await _targets(session, plan_id)
    zone = ZoneInfo(timezone)
    start = _aware(since, zone) if since else datetime.combine(first or last, time(), zone)
    end = _aware(until, zone) if until else datetime.combine(last + timedelta(days=1), time(), zone)
    if start >= end:
        raise RuleViolated("since is not before until", field="since", rule="hour-range")
    if end - start > timedelta(days=MAX_HOURLY_DAYS):
        raise RuleViolated(
            f"at most {MAX_HOURLY_DAYS} days of hours a request", field="since", rule="hour-range"
        )
    requested = list(dict.fromkeys(metrics))
    totals: dict[datetime, _Totals] = {}
    channels: dict[datetime, dict[str, _Totals]] = {}
    rows = await MetricsRepository(session).hourly(
        plan_id, start, end, _base_metrics(requested), timezone
    )
    for hour, channel_key, metric, gross, net in rows:
        totals.setdefault(hour, _Totals()).add(hour, metric, gross, net)
        channels.setdefault(hour, {}).setdefault(channel_key, _Totals()).add(
            hour, metric, gross, net
        )
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
                values=total.values(requested, net=True),
                values_gross=total.values(requested, net=False),
                channels=[
                    RollupChannel(
                        channel_id=None if key == "plan" else uuid.UUID(key),
                        values=figures.values(requested, net=True),
                        values_gross=figures.values(requested, net=False),
                    )
                    for key, figures in sorted(channels[hour].items())
                ],
            )
            for hour, total in sorted(totals.items())
        ],
    )


def _aware(at: datetime, zone: ZoneInfo) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


async def annotate(
    session: AsyncSession, plan_id: uuid.UUID, objective_id: uuid.UUID, note: EvaluationNoteIn
) -> None:
    """Add analysis, suggestion and the data source to an evaluation row."""
    target = await _targets(session, plan_id)
    if str(objective_id) not in {o["objective_id"] for o in target.objectives}:
        raise NotFound(f"plan {plan_id} has no objective {objective_id}")
    await MetricsRepository(session).upsert_note(
        {"plan_id": plan_id, "objective_id": objective_id, **note.model_dump()}
    )


def _part(sums: dict[str, Decimal], metric: str | None) -> Decimal | None:
    return sums.get(metric) if metric else None


def _derived_values(
    metrics: Dictionary, sums: dict[str, Decimal], provisional: bool
) -> list[MetricValue]:
    """Every derived metric's value on a channel-day, so alert rules can watch them too."""
    return [
        MetricValue(metric=m, value=metrics.value_of(m, sums, {}), provisional=provisional)
        for m in sorted(metrics.derived)
    ]


async def publish_snapshots(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Coalesced: one KPI snapshot per changed plan, one metrics update per changed channel-day.

    The claimed plan-days' daily and hourly rollups are recomputed from facts in the same
    transaction (days and hours in the company time zone). A claimed day is a source's own day:
    its hours may land on the company day beside it, which is announced too.
    """
    repo = MetricsRepository(session)
    # Oldest day first, so a consumer judging in arrival order meets the newest day last.
    dirty = sorted(await repo.take_dirty(), key=lambda d: (d.plan_id, d.channel_key, d.day))
    plans = {d.plan_id for d in dirty}
    # The claimed days' rollups first, so the snapshots below (and every later read) sum them.
    written = await repo.refresh_rollups(
        [(d.plan_id, d.day) for d in dirty], settings.company_timezone
    )
    changed = sorted(
        {(d.plan_id, d.channel_key, d.day) for d in dirty}
        | written
        | {(plan, "plan", day) for plan, _channel, day in written},
        key=lambda k: (str(k[0]), k[1], k[2]),
    )
    finals = {p: await final_through(repo, p, now.date()) for p in plans}
    metrics = await derived.dictionary(session)
    for plan_id, channel_key, on in changed:
        channel = None if channel_key == "plan" else uuid.UUID(channel_key)
        sums = await repo.sums(plan_id, on, channel, day=on)
        final = finals[plan_id]
        await outbox.record(
            session,
            MetricsUpdatedV1(
                plan_id=plan_id,
                channel_id=channel,
                day=on,
                as_of=now,
                values=[
                    MetricValue(
                        metric=m,
                        value=kpi.value_of(m, sums, {}),
                        numerator=_part(sums, METRIC_DICTIONARY[m].numerator),
                        denominator=_part(sums, METRIC_DICTIONARY[m].denominator),
                        provisional=final is not None and on > final,
                    )
                    for m in DAY_METRICS
                ]
                + _derived_values(metrics, sums, final is not None and on > final),
            ),
            subject=str(plan_id),
        )
    for plan_id in plans:
        target = await repo.target(plan_id)
        if target is None:
            continue
        today = now.date()
        standing = await kpis(session, plan_id, today)
        await outbox.record(
            session,
            KpiSnapshotV1(
                plan_id=plan_id,
                plan_version=target.version,
                as_of=now,
                objectives=[
                    ObjectiveAchievement(
                        objective_id=o.objective_id,
                        metric=o.metric,
                        target=o.target,
                        actual=o.actual,
                        expected_to_date=o.expected_to_date,
                        achievement=o.achievement,
                        provisional=standing.provisional,
                    )
                    for o in standing.objectives
                ],
                excluded_entity_days=standing.excluded_entity_days,
            ),
            subject=str(plan_id),
        )
        for channel, sums in (await repo.channel_sums(plan_id, today)).items():
            if "cost" in sums:
                await outbox.record(
                    session,
                    SpendRecordedV1(
                        plan_id=plan_id,
                        channel_id=channel,
                        through_day=today,
                        spend_to_date=Money(
                            amount=sums["cost"].quantize(Decimal("0.01")), currency=target.currency
                        ),
                    ),
                    subject=str(plan_id),
                )


JOBS = [PeriodicJob("metrics-snapshots", publish_snapshots, interval_seconds=2)]
