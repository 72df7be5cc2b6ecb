"""The planning app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.planning import SERVICE
from services.planning.api import knowledge, router
from services.planning.handlers import SUBSCRIBERS
from services.planning.models import Base, bus
from shared.kit.app import create_service_app
from shared.kit.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name=SERVICE,
    metadata=Base.metadata,
    bus=bus,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, knowledge],
    subscribers=SUBSCRIBERS,
    description="Campaign plans from objective to retrospective.",
)


def create_app(**overrides: Any) -> FastAPI:
    """The planning service as an ASGI app."""
    return create_service_app(DEFINITION, **overrides)
