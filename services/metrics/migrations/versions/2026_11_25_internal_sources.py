"""internal sources: a source kind, the internal system, and its service token subjects

Revision ID: 5b0d7e3c9a21
Revises: ec69f05b2344
Create Date: 2026-11-25 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b0d7e3c9a21"
down_revision: str | None = "ec69f05b2344"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every source registered so far is an ad platform that signs its deliveries.
    op.add_column(
        "sources",
        sa.Column("kind", sa.Text(), server_default="platform", nullable=False),
        schema="metrics",
    )
    op.add_column("sources", sa.Column("system", sa.Text(), nullable=True), schema="metrics")
    op.add_column(
        "sources",
        sa.Column(
            "token_subjects",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_column("sources", "token_subjects", schema="metrics")
    op.drop_column("sources", "system", schema="metrics")
    op.drop_column("sources", "kind", schema="metrics")
