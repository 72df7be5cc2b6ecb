"""A/B experiments: create and list them, and review them from the facts of their arms."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.experiments import stats
from services.metrics.experiments.repository import ExperimentsRepository
from services.metrics.experiments.schemas import (
    ArmResult,
    ComparisonRead,
    ExperimentCreate,
    ExperimentRead,
    ExperimentReview,
    IntervalRead,
)
from services.metrics.models import Experiment, idempotency
from shared.contract.metric_dictionary import METRIC_DICTIONARY, MetricKind
from shared.kit.errors import Conflict, NotFound, RuleViolated
from shared.kit.pagination import Page, PageWindow, page_of

METHOD = (
    "fixed-horizon two-proportion test: Wilson score intervals per arm, unpooled Wald interval "
    "of the uplift, pooled z-test p-value (two-sided, alpha 0.05); read it once the minimum "
    "sample is reached, not repeatedly (peeking inflates false positives)"
)


def proportion(key: str) -> tuple[str, str]:
    """The numerator and denominator of a metric an A/B test can compare: a ratio of two
    counts (its numerator a subset of its denominator's trials), such as ctr."""
    found = METRIC_DICTIONARY.get(key)
    if found is None or found.numerator is None or found.denominator is None:
        raise RuleViolated(
            f"{key} is not a ratio metric of the dictionary", field="metric", rule="ratio-metric"
        )
    parts = (METRIC_DICTIONARY[found.numerator], METRIC_DICTIONARY[found.denominator])
    if any(part.kind is not MetricKind.COUNTER or not part.additive for part in parts):
        raise RuleViolated(
            f"{key} is {found.definition}, not a proportion of two counts (e.g. ctr)",
            field="metric",
            rule="ratio-metric",
        )
    return found.numerator, found.denominator


def _read(experiment: Experiment) -> ExperimentRead:
    return ExperimentRead.model_validate(experiment, from_attributes=True)


async def create_experiment_once(
    session: AsyncSession,
    plan_id: uuid.UUID,
    data: ExperimentCreate,
    who: str,
    now: datetime,
    key: str | None,
) -> ExperimentRead:
    """Create an experiment, once per Idempotency-Key (bound to the plan)."""
    return await idempotency.run(
        session,
        key=key,
        principal=who,
        scope=f"POST /metrics/plans/{plan_id}/experiments",
        request=data,
        produce=lambda: create_experiment(session, plan_id, data, who, now),
        model=ExperimentRead,
    )


async def create_experiment(
    session: AsyncSession, plan_id: uuid.UUID, data: ExperimentCreate, who: str, now: datetime
) -> ExperimentRead:
    """Store an experiment of a plan after checking its metric is a proportion."""
    proportion(data.metric)
    experiment = Experiment(
        id=uuid.uuid4(),
        plan_id=plan_id,
        name=data.name,
        metric=data.metric,
        arms=[arm.model_dump() for arm in data.arms],
        minimum_sample=data.minimum_sample,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by=who,
        created_at=now,
    )
    await ExperimentsRepository(session).add(experiment)
    return _read(experiment)


async def experiments(
    session: AsyncSession, plan_id: uuid.UUID, window: PageWindow
) -> Page[ExperimentRead]:
    """A page of a plan's experiments, oldest first."""
    rows = await ExperimentsRepository(session).experiments(plan_id, window)
    return page_of(rows, window, lambda e: (e.created_at, e.id), _read)


def _interval(interval: stats.Interval | None) -> IntervalRead | None:
    return None if interval is None else IntervalRead(low=interval.low, high=interval.high)


async def review(
    session: AsyncSession, plan_id: uuid.UUID, experiment_id: uuid.UUID
) -> ExperimentReview:
    """Each arm's rate over the experiment's period, each challenger against the control, and
    the verdict of a fixed-horizon test (see stats.py)."""
    repo = ExperimentsRepository(session)
    experiment = await repo.experiment(experiment_id)
    if experiment is None or experiment.plan_id != plan_id:
        raise NotFound(f"plan {plan_id} has no experiment {experiment_id}")
    stored = _read(experiment)
    numerator, denominator = proportion(stored.metric)
    sums = await repo.sums_by_entity(
        plan_id,
        [entity for arm in stored.arms for entity in arm.entities],
        (numerator, denominator),
        stored.starts_on,
        stored.ends_on,
    )
    counts = []
    for arm in stored.arms:
        successes = sum(int(sums.get((e, numerator), 0)) for e in arm.entities)
        trials = sum(int(sums.get((e, denominator), 0)) for e in arm.entities)
        if successes > trials:
            raise Conflict(
                f"arm {arm.name} has {successes} {numerator} out of {trials} "
                f"{denominator}: its facts are not a proportion",
                rule="numerator-within-denominator",
            )
        counts.append(stats.ArmCounts(arm.name, successes, trials))
    control = counts[0]
    comparisons = [stats.compare(control, arm, stored.minimum_sample) for arm in counts[1:]]
    verdict, winner = stats.overall(comparisons)
    return ExperimentReview(
        experiment=stored,
        numerator=numerator,
        denominator=denominator,
        starts_on=stored.starts_on,
        ends_on=stored.ends_on,
        arms=[_arm_result(stats.rate_of(c, stored.minimum_sample)) for c in counts],
        comparisons=[
            ComparisonRead(
                arm=c.arm,
                control=c.control,
                uplift=c.uplift,
                uplift_interval=_interval(c.uplift_interval),
                z=c.z,
                p_value=c.p_value,
                verdict=c.verdict.value,
                winner=c.winner,
            )
            for c in comparisons
        ],
        verdict=verdict.value,
        winner=winner,
        method=METHOD,
    )


async def reviews(session: AsyncSession, plan_id: uuid.UUID) -> list[ExperimentReview]:
    """The review of every experiment of a plan, oldest first; an experiment whose facts are
    no proportion (more successes than trials) is left out, as its own review refuses it."""
    out = []
    for experiment in await ExperimentsRepository(session).all_of_plan(plan_id):
        try:
            out.append(await review(session, plan_id, experiment.id))
        except Conflict:
            continue
    return out


def _arm_result(rate: stats.ArmRate) -> ArmResult:
    return ArmResult(
        name=rate.counts.name,
        numerator=rate.counts.successes,
        denominator=rate.counts.trials,
        rate=rate.rate,
        interval=_interval(rate.interval),
        enough_data=rate.enough_data,
    )
