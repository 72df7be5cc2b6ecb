"""The alerts service's tables, all in the ``alerts`` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.alerts import SERVICE
from shared.kit.bus.tables import BusTables
from shared.kit.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata(SERVICE)


bus = BusTables.define(Base.metadata)
