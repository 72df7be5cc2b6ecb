"""Common value types used across services and events."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Role(StrEnum):
    """Who a caller is in the business (docs/domain.md, roles)."""

    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    SALES = "sales"
    FINANCE = "finance"
    LEGAL = "legal"
    TECH = "tech"
    ADMIN = "admin"
    # Not a person: an internal system (the user back end, e-commerce…) posting metrics.
    SERVICE = "service"


CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Money(BaseModel):
    """An exact amount in one currency; never a float."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[Decimal, Field(max_digits=18, decimal_places=2)]
    currency: CurrencyCode = "CNY"


class ObjectiveType(StrEnum):
    """Kinds of campaign objective (docs/domain.md §1)."""

    USER_GROWTH = "user_growth"
    BRAND_AWARENESS = "brand_awareness"
    SALES_CONVERSION = "sales_conversion"
    COST_EFFICIENCY = "cost_efficiency"
    CUSTOM = "custom"


class TargetKind(StrEnum):
    """An absolute target (200,000) or a change relative to a stated baseline (+30%)."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class ChannelType(StrEnum):
    """The fixed channel vocabulary (docs/domain.md §2)."""

    SEARCH = "search"
    SOCIAL = "social"
    VIDEO = "video"
    IN_FEED = "in_feed"
    KOL_KOC = "kol_koc"
    E_COMMERCE = "e_commerce"
    OFFLINE_EVENT = "offline_event"
    POP_UP = "pop_up"
    PRINT = "print"
    CAMPUS = "campus"
    PARTNER = "partner"


class CostType(StrEnum):
    """Budget line and expense cost types (docs/domain.md §2 and §8)."""

    CHANNEL_FEE = "channel_fee"
    CREATIVE_PRODUCTION = "creative_production"
    PERSONNEL = "personnel"
    VENUE = "venue"
    SPONSORSHIP = "sponsorship"
    MATERIALS = "materials"
    OTHER = "other"


class Severity(StrEnum):
    """Alert severity."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"
