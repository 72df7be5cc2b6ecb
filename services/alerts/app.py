"""The alerts app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.alerts import SERVICE
from services.alerts.api import router
from services.alerts.handlers import SUBSCRIBERS
from services.alerts.jobs import JOBS, count_firing
from services.alerts.models import Base, bus
from shared.kit.app import create_service_app
from shared.kit.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name=SERVICE,
    metadata=Base.metadata,
    bus=bus,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    subscribers=SUBSCRIBERS,
    jobs=JOBS,
    observers=[count_firing],
    description="Rules on targets, progress and data; lifecycle, silences, notifications.",
)


def create_app(**overrides: Any) -> FastAPI:
    """The alerts service as an ASGI app."""
    return create_service_app(DEFINITION, **overrides)
