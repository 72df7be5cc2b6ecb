"""The product each plan promotes and the day each version came into force, for trends

Revision ID: 9d41c7b2e5f8
Revises: 3e8b1f6a9c24
Create Date: 2026-12-01 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d41c7b2e5f8"
down_revision: str | None = "9a4c2e7f1d58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_products",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plan_products")),
        schema="metrics",
    )
    op.create_index(
        "ix_metrics_plan_products_product",
        "plan_products",
        ["product"],
        unique=False,
        schema="metrics",
    )
    op.create_table(
        "plan_versions",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("in_force_from", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "version", name=op.f("pk_plan_versions")),
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_table("plan_versions", schema="metrics")
    op.drop_index("ix_metrics_plan_products_product", table_name="plan_products", schema="metrics")
    op.drop_table("plan_products", schema="metrics")
