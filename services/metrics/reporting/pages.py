"""The report in one of its forms: HTML page, CSV or XLSX, in the reader's language."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import report
from services.metrics.reporting import export, tables
from services.metrics.reporting.data import ReportData, gather
from services.metrics.reporting.i18n import Words, choose
from shared.kit.settings import get_settings


async def _prepared(
    session: AsyncSession,
    plan_id: uuid.UUID,
    as_of: date,
    lang: str | None,
    accept_language: str | None,
    known_at: datetime | None = None,
) -> tuple[ReportData, Words]:
    settings = get_settings()
    locale = choose(lang, accept_language, settings.company_language)
    data = await gather(session, plan_id, as_of, settings.company_timezone, locale, known_at)
    return data, Words(locale, data.evaluation.currency or "CNY")


async def html(
    session: AsyncSession,
    plan_id: uuid.UUID,
    as_of: date,
    lang: str | None,
    accept_language: str | None,
    known_at: datetime | None = None,
) -> tuple[str, str]:
    """The page and its language tag."""
    data, words = await _prepared(session, plan_id, as_of, lang, accept_language, known_at)
    return report.render(data, words), words.tag


async def csv(
    session: AsyncSession,
    plan_id: uuid.UUID,
    as_of: date,
    lang: str | None,
    accept_language: str | None,
    known_at: datetime | None = None,
) -> tuple[str, str]:
    """Every section as CSV, and the language tag."""
    data, words = await _prepared(session, plan_id, as_of, lang, accept_language, known_at)
    return export.to_csv(tables.sections(data, words)), words.tag


async def xlsx(
    session: AsyncSession,
    plan_id: uuid.UUID,
    as_of: date,
    lang: str | None,
    accept_language: str | None,
    known_at: datetime | None = None,
) -> tuple[bytes, str]:
    """Every section as a worksheet, and the language tag."""
    data, words = await _prepared(session, plan_id, as_of, lang, accept_language, known_at)
    return export.to_xlsx(tables.sections(data, words), words.currency, words.locale), words.tag
