"""objective target decompositions

Revision ID: 558dde85fa3c
Revises: 5b0d7e3c9a21
Create Date: 2026-11-25 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "558dde85fa3c"
down_revision: str | None = "5b0d7e3c9a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decompositions",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("objective_id", sa.Uuid(), nullable=False),
        sa.Column("plan_revision", sa.Integer(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("tree", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "objective_id", name=op.f("pk_decompositions")),
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_table("decompositions", schema="metrics")
