"""Common value types used across services and events."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Role(StrEnum):
    """Who a caller is in the business (DOMAIN.md, roles)."""

    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    SALES = "sales"
    FINANCE = "finance"
    LEGAL = "legal"
    TECH = "tech"
    ADMIN = "admin"


CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Money(BaseModel):
    """An exact amount in one currency; never a float."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[Decimal, Field(max_digits=18, decimal_places=2)]
    currency: CurrencyCode = "CNY"
