"""fx rates, and rollups that say which money had no rate

Revision ID: 5d1f0c7b9e42
Revises: cdfdad281403
Create Date: 2026-11-25 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1f0c7b9e42"
down_revision: str | None = "cdfdad281403"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("base", sa.Text(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_fx_rates_positive_rate")),
        sa.CheckConstraint("base <> quote", name=op.f("ck_fx_rates_two_currencies")),
        sa.PrimaryKeyConstraint("base", "quote", "valid_from", name=op.f("pk_fx_rates")),
        schema="metrics",
    )
    op.add_column(
        "daily_rollups",
        sa.Column("unconverted_currency", sa.Text(), nullable=True),
        schema="metrics",
    )
    op.alter_column("daily_rollups", "value_gross", nullable=True, schema="metrics")
    op.create_index(
        "ix_metrics_daily_rollups_unconverted",
        "daily_rollups",
        ["plan_id", "day"],
        unique=False,
        schema="metrics",
        postgresql_where=sa.text("unconverted_currency IS NOT NULL"),
    )
    # Rollups built before this revision summed foreign money as reported: have the snapshot
    # job rebuild those days (they report a missing rate until finance enters one).
    op.execute(
        """
        INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
        SELECT DISTINCT f.plan_id, keys.channel_key, f.day
        FROM metrics.facts AS f
        JOIN metrics.sources AS s ON s.id = f.source_id
        LEFT JOIN metrics.plan_targets AS t ON t.plan_id = f.plan_id
        CROSS JOIN LATERAL (VALUES (coalesce(f.channel_id::text, 'plan')), ('plan'))
            AS keys(channel_key)
        WHERE f.plan_id IS NOT NULL AND f.metric IN ('cost', 'gmv', 'revenue')
            AND s.currency <> coalesce(t.currency, 'CNY')
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    op.drop_index(
        "ix_metrics_daily_rollups_unconverted", table_name="daily_rollups", schema="metrics"
    )
    op.execute("DELETE FROM metrics.daily_rollups WHERE value_gross IS NULL")
    op.alter_column("daily_rollups", "value_gross", nullable=False, schema="metrics")
    op.drop_column("daily_rollups", "unconverted_currency", schema="metrics")
    op.drop_table("fx_rates", schema="metrics")
