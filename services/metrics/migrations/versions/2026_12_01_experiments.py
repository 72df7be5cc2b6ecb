"""A/B experiments of a plan

Revision ID: 3e8b1f6a9c24
Revises: 7c2e9a4d1b63
Create Date: 2026-12-01 05:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3e8b1f6a9c24"
down_revision: str | None = "7c2e9a4d1b63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("arms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("minimum_sample", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        schema="metrics",
    )
    op.create_index(
        "ix_metrics_experiments_plan",
        "experiments",
        ["plan_id", "created_at"],
        unique=False,
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_index("ix_metrics_experiments_plan", table_name="experiments", schema="metrics")
    op.drop_table("experiments", schema="metrics")
