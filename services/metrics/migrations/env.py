"""Alembic environment of the metrics service."""

from services.metrics.models import Base
from shared.kit.migrations import run_env

run_env(Base.metadata)
