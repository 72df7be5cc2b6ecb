"""a Meta source's own preference order of action types

Revision ID: 7c2e9a4d1b63
Revises: 5b0f3c9e7a21
Create Date: 2026-12-01 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c2e9a4d1b63"
down_revision: str | None = "5b0f3c9e7a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sources",
        sa.Column("meta_action_types", postgresql.JSONB(), nullable=True),
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_column("sources", "meta_action_types", schema="metrics")
