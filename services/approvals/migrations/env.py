"""Alembic environment of the approvals service."""

from services.approvals.models import Base
from shared.kit.migrations import run_env

run_env(Base.metadata)
