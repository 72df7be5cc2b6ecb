"""The KPI payout rule (DOMAIN.md §9), which planning and metrics both apply to target trees."""

from __future__ import annotations

from decimal import Decimal

KPI_PAYOUT_CAP = Decimal(2)  # individual payout follows achievement, capped at 200 %


def payout_rate(achievement: Decimal | None) -> Decimal | None:
    """The payout rate an achievement earns: the achievement itself, at most the cap."""
    return None if achievement is None else min(achievement, KPI_PAYOUT_CAP)
