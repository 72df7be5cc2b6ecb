"""The approvals app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.approvals import SERVICE
from services.approvals.api import router
from services.approvals.handlers import SUBSCRIBERS
from services.approvals.jobs import JOBS
from services.approvals.models import Base, bus
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
    description="Workflows, policies, requests, decisions and an audit trail.",
)


def create_app(**overrides: Any) -> FastAPI:
    """The approvals service as an ASGI app."""
    return create_service_app(DEFINITION, **overrides)
