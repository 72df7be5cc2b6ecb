"""fraud arrival marks: how far the fraud arrivals job has read the fact revisions

Revision ID: 9a4c2e7f1d58
Revises: 3e8b1f6a9c24
Create Date: 2026-12-01 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9a4c2e7f1d58"
down_revision: str | None = "3e8b1f6a9c24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fraud_arrival_marks",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("at", name=op.f("pk_fraud_arrival_marks")),
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_table("fraud_arrival_marks", schema="metrics")
