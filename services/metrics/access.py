"""Who may call metrics' routes, and the company's today: shared by the metrics routers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query

from services.metrics.kpis import service as kpis_service
from shared.contract.types import Role
from shared.kit.auth import Principal, require
from shared.kit.input import IsoDateTime
from shared.kit.settings import get_settings

Operator = Annotated[Principal, Depends(require(Role.TECH, Role.ADMIN))]
Analyst = Annotated[
    Principal,
    Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER, Role.SALES, Role.FINANCE)),
]
# Who reviews fraud flags: team leads own the ambassadors' payouts, tech owns the data.
Reviewer = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.TECH))]
FlagReader = Annotated[
    Principal,
    Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.TECH)),
]
# Who keeps the exchange rates: finance owns them, tech runs the data.
RateKeeper = Annotated[Principal, Depends(require(Role.FINANCE, Role.TECH, Role.ADMIN))]


def company_today() -> date:
    """Today in the company's time zone (the default end of every period)."""
    return datetime.now(UTC).astimezone(ZoneInfo(get_settings().company_timezone)).date()


KnownAt = Annotated[
    IsoDateTime | None,
    Query(
        description="answer with the figures the system knew at this time (no offset: company "
        "time); not in the future"
    ),
]


def as_known(as_of: date | None, known_at: datetime | None) -> tuple[date, datetime | None]:
    """The day figures run to and the time they are known at (kpis.service.as_known)."""
    return kpis_service.as_known(
        as_of, known_at, datetime.now(UTC), get_settings().company_timezone
    )
