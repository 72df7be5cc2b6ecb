"""Meta action types per source; daily rollups on company days, with their entity counts

- ``sources.meta_action_types``: a Meta source's own preference order of action types.
- ``daily_rollups.source_day``: the facts' own day, which the snapshot job recomputes by; ``day``
  becomes the company day (an hourly fact lands on the company day its hour starts in, as in
  the hourly rollups; a whole-day fact stays on its day). A company day may then hold rows of
  two source days of one source, so ``source_day`` joins the primary key.
- ``daily_rollups.entities``: how many entities a row's figure is made of, so that a metric
  that does not add up (reach) is given only where one entity-day makes it.

Rows stored before hold no counts and book hours on the source's day: every plan-day with a
rollup is marked dirty, so the snapshot job rebuilds them (until then they are read from facts).

Revision ID: 7c2e9a4d1b63
Revises: fdad0ffdd302
Create Date: 2026-12-01 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c2e9a4d1b63"
down_revision: str | None = "fdad0ffdd302"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sources",
        sa.Column("meta_action_types", postgresql.JSONB(), nullable=True),
        schema="metrics",
    )
    op.add_column("daily_rollups", sa.Column("source_day", sa.Date()), schema="metrics")
    op.execute("UPDATE metrics.daily_rollups SET source_day = day")
    op.alter_column("daily_rollups", "source_day", nullable=False, schema="metrics")
    op.add_column(
        "daily_rollups",
        sa.Column("entities", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema="metrics",
    )
    op.drop_constraint("pk_daily_rollups", "daily_rollups", type_="primary", schema="metrics")
    op.create_primary_key(
        "pk_daily_rollups",
        "daily_rollups",
        ["plan_id", "day", "metric", "channel_key", "source_id", "source_day"],
        schema="metrics",
    )
    op.execute(
        """
        INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
        SELECT DISTINCT plan_id, channel_key, day FROM metrics.daily_rollups
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute(
        """
        INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
        SELECT DISTINCT plan_id, channel_key, source_day FROM metrics.daily_rollups
        ON CONFLICT DO NOTHING
        """
    )
    op.execute("DELETE FROM metrics.daily_rollups WHERE day <> source_day")
    op.drop_constraint("pk_daily_rollups", "daily_rollups", type_="primary", schema="metrics")
    op.drop_column("daily_rollups", "entities", schema="metrics")
    op.drop_column("daily_rollups", "source_day", schema="metrics")
    op.create_primary_key(
        "pk_daily_rollups",
        "daily_rollups",
        ["plan_id", "day", "metric", "channel_key", "source_id"],
        schema="metrics",
    )
    op.drop_column("sources", "meta_action_types", schema="metrics")
