"""The KPI payout rule (docs/domain.md §9), applied by planning and metrics to target trees."""

from __future__ import annotations

from decimal import Decimal

KPI_PAYOUT_CAP = Decimal(2)  # individual payout follows achievement, capped at 200 %


def payout_rate(achievement: Decimal | None) -> Decimal | None:
    """The payout rate an achievement earns: the achievement itself, at most the cap."""
    return None if achievement is None else min(achievement, KPI_PAYOUT_CAP)
