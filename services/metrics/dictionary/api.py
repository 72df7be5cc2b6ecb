"""The metric dictionary's routes: every metric's definition, and derived metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.metrics.access import Operator
from services.metrics.dictionary import derived
from services.metrics.schemas import DerivedMetricIn, MetricRead
from shared.contract.metric_dictionary import METRIC_DICTIONARY, METRIC_KEY_PATTERN
from shared.kit.app import Session
from shared.kit.auth import Authenticated
from shared.kit.i18n import current_locale, language_tag
from shared.kit.pagination import Page, Paging, page_in_memory

router = APIRouter(tags=["metrics"])


@router.get("/dictionary", response_model=Page[MetricRead])
async def dictionary(
    session: Session, _caller: Authenticated, paging: Paging, response: Response
) -> Page[MetricRead]:
    """Every metric: its definition and how it aggregates (ratios are ratios of sums).

    The built-in metrics come first, then the derived ones with their formulas, each by key.
    Names are in the reader's language (Accept-Language, else the company's); keys never change."""
    locale = current_locale.get()
    entries = await derived.entries(session, locale)
    page = paging.respond(page_in_memory(entries, paging.window, _order))
    response.headers["Content-Language"] = language_tag(locale)
    response.headers["Vary"] = "Accept-Language"
    return page


def _order(metric: MetricRead) -> tuple[int, str]:
    return (0 if metric.key in METRIC_DICTIONARY else 1, metric.key)


@router.put("/dictionary/{key}", response_model=MetricRead)
async def define_metric(
    key: Annotated[str, Path(pattern=METRIC_KEY_PATTERN)],
    data: DerivedMetricIn,
    session: Session,
    operator: Operator,
) -> MetricRead:
    """Define or redefine a derived metric by a formula over summable metrics.

    There is no DELETE: objectives and alert rules in other services may name the metric, and
    metrics cannot see them; a redefinition keeps the key and bumps its version instead."""
    return await derived.define(session, key, data, operator.subject, datetime.now(UTC))
