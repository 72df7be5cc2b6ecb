"""The metrics app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.metrics import SERVICE
from services.metrics.api import router
from services.metrics.fraud.arrivals import JOBS as FRAUD_ARRIVALS
from services.metrics.fraud.review import JOBS as FRAUD_JOBS
from services.metrics.handlers import SUBSCRIBERS
from services.metrics.models import Base, bus
from services.metrics.rollups.snapshots import JOBS
from services.metrics.sources.freshness import JOBS as FRESHNESS
from shared.kit.app import create_service_app
from shared.kit.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name=SERVICE,
    metadata=Base.metadata,
    bus=bus,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    subscribers=SUBSCRIBERS,
    jobs=[*JOBS, *FRESHNESS, *FRAUD_JOBS, *FRAUD_ARRIVALS],
    description="Signed webhook ingestion, metric dictionary, rollups, KPIs, fraud, evaluation.",
)


def create_app(**overrides: Any) -> FastAPI:
    """The metrics service as an ASGI app."""
    return create_service_app(DEFINITION, **overrides)
