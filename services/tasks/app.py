"""The tasks app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.tasks import SERVICE
from services.tasks.api import router
from services.tasks.handlers import SUBSCRIBERS
from services.tasks.jobs import JOBS
from services.tasks.models import Base, bus
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
    description="WBS tasks with single ownership, dependencies, progress and issue log.",
)


def create_app(**overrides: Any) -> FastAPI:
    """The tasks service as an ASGI app."""
    return create_service_app(DEFINITION, **overrides)
