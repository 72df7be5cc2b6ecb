"""channel kinds: robots and email besides the generic webhook, and a language

Revision ID: 7b2e4c9a1f30
Revises: 1d4548b84fb0
Create Date: 2026-12-01 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7b2e4c9a1f30"
down_revision: str | None = "1d4548b84fb0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "channels",
        sa.Column("kind", sa.Text(), server_default="webhook", nullable=False),
        schema="alerts",
    )
    op.add_column(
        "channels",
        sa.Column(
            "recipients",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        schema="alerts",
    )
    op.add_column("channels", sa.Column("language", sa.Text(), nullable=True), schema="alerts")
    op.alter_column("channels", "url", existing_type=sa.Text(), nullable=True, schema="alerts")


def downgrade() -> None:
    op.execute("DELETE FROM alerts.channels WHERE url IS NULL")
    op.alter_column("channels", "url", existing_type=sa.Text(), nullable=False, schema="alerts")
    op.drop_column("channels", "language", schema="alerts")
    op.drop_column("channels", "recipients", schema="alerts")
    op.drop_column("channels", "kind", schema="alerts")
