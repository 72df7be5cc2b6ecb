"""Alembic environment of the planning service."""

from services.planning.models import Base
from shared.kit.migrations import run_env

run_env(Base.metadata)
