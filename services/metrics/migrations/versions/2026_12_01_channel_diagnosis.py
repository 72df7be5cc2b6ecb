"""Channel diagnosis: plan budgets, CLTV parameters, acquisition cohorts

Revision ID: 9d4c2b7e1f35
Revises: 3e8b1f6a9c24
Create Date: 2026-12-01 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9d4c2b7e1f35"
down_revision: str | None = "9d41c7b2e5f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_budgets",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("contingency_reserve", sa.Numeric(), nullable=True),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plan_budgets")),
        schema="metrics",
    )
    op.create_table(
        "channel_parameters",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("gross_margin", sa.Numeric(), nullable=True),
        sa.Column("purchase_frequency", sa.Numeric(), nullable=True),
        sa.Column("lifespan_years", sa.Numeric(), nullable=True),
        sa.Column("cltv_cac_floor", sa.Numeric(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_channel_parameters")),
        schema="metrics",
    )
    op.create_table(
        "cohort_revenues",
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("cohort_on", sa.Date(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Numeric(), nullable=False),
        sa.Column("revenue", sa.Numeric(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("channel_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint(
            "source_id", "entity", "cohort_on", "age_days", name=op.f("pk_cohort_revenues")
        ),
        schema="metrics",
    )
    op.create_index(
        "ix_metrics_cohort_revenues_plan",
        "cohort_revenues",
        ["plan_id", "cohort_on"],
        unique=False,
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_index("ix_metrics_cohort_revenues_plan", table_name="cohort_revenues", schema="metrics")
    op.drop_table("cohort_revenues", schema="metrics")
    op.drop_table("channel_parameters", schema="metrics")
    op.drop_table("plan_budgets", schema="metrics")
