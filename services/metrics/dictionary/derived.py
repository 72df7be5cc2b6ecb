"""Derived metrics as data: defining one, and the dictionary every computation reads."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.dictionary.catalogue import DerivedEntry, Dictionary
from services.metrics.dictionary.expressions import ExpressionRefused, parse
from services.metrics.dictionary.names import metric_name
from services.metrics.dictionary.repository import DictionaryRepository
from services.metrics.models import DerivedMetric, outbox
from services.metrics.schemas import DerivedMetricIn, MetricRead
from shared.contract.events.metrics import MetricDefinedV1
from shared.contract.metric_dictionary import (
    METRIC_DICTIONARY,
    SUMMABLE_METRICS,
    MetricDefinition,
    MetricKind,
)
from shared.kit.errors import RuleViolated
from shared.kit.i18n import SOURCE_LOCALE
from shared.kit.wording import a_or_an

log = logging.getLogger(__name__)


def _entry(row: DerivedMetric) -> DerivedEntry | None:
    try:
        expression = parse(row.expression, SUMMABLE_METRICS)
    except ExpressionRefused:
        # Only a built-in metric retired by a deploy can get here; the rest still compute.
        log.warning("derived metric %s no longer parses: %s", row.key, row.expression)
        return None
    definition = MetricDefinition(
        key=row.key,
        name=row.name,
        definition=row.definition,
        kind=MetricKind(row.kind),
        expression=row.expression,
    )
    return DerivedEntry(definition, expression, row.version)


async def dictionary(session: AsyncSession) -> Dictionary:
    """The built-in metrics and every derived one, as stored now."""
    entries = [_entry(row) for row in await DictionaryRepository(session).derived_metrics()]
    return Dictionary({e.definition.key: e for e in entries if e is not None})


def _read(row: DerivedMetric, locale: str = SOURCE_LOCALE) -> MetricRead:
    return MetricRead(
        key=row.key,
        name=metric_name(row.name, locale),
        definition=row.definition,
        kind=row.kind,
        numerator=None,
        denominator=None,
        aggregation="derived",
        additive=False,
        expression=row.expression,
        version=row.version,
        defined_by=row.updated_by,
        defined_at=row.updated_at,
    )


async def entries(session: AsyncSession, locale: str = SOURCE_LOCALE) -> list[MetricRead]:
    """Every metric: the built-in ones, then the derived ones by key; names in ``locale``."""
    built_in = [
        MetricRead.model_validate(
            {
                **m.model_dump(),
                "name": metric_name(m.name, locale),
                "aggregation": m.aggregates.value,
                "additive": m.additive,
            }
        )
        for m in METRIC_DICTIONARY.values()
    ]
    stored = await DictionaryRepository(session).derived_metrics()
    return [*built_in, *(_read(r, locale) for r in stored)]


def _checked(key: str, data: DerivedMetricIn) -> str:
    """The formula as stored, once the key and the formula pass every rule."""
    if key in METRIC_DICTIONARY:
        raise RuleViolated(
            f"{key!r} is a built-in metric; its definition ships with the code",
            field="key",
            rule="built-in-metric",
        )
    try:
        expression = parse(data.expression, SUMMABLE_METRICS)
    except ExpressionRefused as refused:
        raise RuleViolated(str(refused), field="expression", rule=refused.rule) from None
    if data.kind != "ratio" and not expression.linear:
        raise RuleViolated(
            f"{a_or_an(data.kind)} metric is pro-rated to elapsed time, so its formula must add up "
            "over days (metrics added or subtracted, times or divided by constants); "
            "define this one as a ratio",
            field="kind",
            rule="additive-kind",
        )
    return expression.text


async def define(
    session: AsyncSession, key: str, data: DerivedMetricIn, author: str, now: datetime
) -> MetricRead:
    """Define or redefine a derived metric and tell the other services, in one transaction.

    Sending the same definition again changes nothing and publishes nothing.
    """
    fields = {**data.model_dump(), "expression": _checked(key, data)}
    repo = DictionaryRepository(session)
    row = await repo.derived_metric(key)
    if row is None:
        row = DerivedMetric(
            key=key,
            **fields,
            version=1,
            created_by=author,
            created_at=now,
            updated_by=author,
            updated_at=now,
        )
        await repo.add(row)
    elif any(getattr(row, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(row, name, value)
        row.version, row.updated_by, row.updated_at = row.version + 1, author, now
        await session.flush()
    else:
        return _read(row)
    await outbox.record(
        session,
        MetricDefinedV1(
            key=row.key,
            name=row.name,
            definition=row.definition,
            kind=MetricKind(row.kind),
            expression=row.expression,
            version=row.version,
            defined_by=author,
            defined_at=now,
        ),
        subject=key,
    )
    return _read(row)
