"""Tasks' tables, all in the ``tasks`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.tasks import SERVICE
from shared.kit.bus.tables import BusTables
from shared.kit.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata(SERVICE)


bus = BusTables.define(Base.metadata)


class KnownPlan(Base):
    """Local projection of planning's plans, kept from its events (no REST call needed)."""

    __tablename__ = "known_plans"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    last_event_id: Mapped[uuid.UUID]
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
