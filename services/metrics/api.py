"""Metrics' routes, one router per aggregate package, gathered in the order they are documented."""

from __future__ import annotations

from fastapi import APIRouter

from services.metrics.diagnosis.channels_api import router as channels
from services.metrics.diagnosis.funnels_api import router as funnels
from services.metrics.dictionary.api import router as dictionary
from services.metrics.experiments.api import router as experiments
from services.metrics.fraud.api import router as fraud
from services.metrics.fx.api import router as fx
from services.metrics.kpis.api import router as kpis
from services.metrics.reporting.api import router as reporting
from services.metrics.rollups.api import router as rollups
from services.metrics.sources.api import router as sources

router = APIRouter()
for part in (
    sources,
    dictionary,
    kpis,
    rollups,
    reporting,
    fraud,
    experiments,
    fx,
    funnels,
    channels,
):
    router.include_router(part)
