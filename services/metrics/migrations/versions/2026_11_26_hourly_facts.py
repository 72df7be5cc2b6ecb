"""hourly facts and hourly rollups

A fact's key gains ``hour`` (0-23 in the source's time zone, -1 for the whole day). The column
is added with its default, so every fact and revision stored before is a whole-day one; the
primary key is rebuilt with ``hour`` before ``metric``, so lookups by (source, entity, day) keep
their index prefix.

Revision ID: 5b0f3c9e7a21
Revises: 5d1f0c7b9e42
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0f3c9e7a21"
down_revision: str | None = "5d1f0c7b9e42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default is stored in the catalogue (PostgreSQL 11+): no table rewrite.
    for table in ("facts", "fact_revisions"):
        op.add_column(
            table,
            sa.Column("hour", sa.SmallInteger(), server_default=sa.text("-1"), nullable=False),
            schema="metrics",
        )
    op.create_check_constraint(
        op.f("ck_facts_hour"), "facts", "hour BETWEEN -1 AND 23", schema="metrics"
    )
    op.drop_constraint("pk_facts", "facts", type_="primary", schema="metrics")
    op.create_primary_key(
        "pk_facts", "facts", ["source_id", "entity", "day", "hour", "metric"], schema="metrics"
    )
    op.create_table(
        "hourly_rollups",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("channel_key", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value_gross", sa.Numeric(), nullable=False),
        sa.Column("value_net", sa.Numeric(), nullable=True),
        sa.PrimaryKeyConstraint(
            "plan_id", "hour", "metric", "channel_key", "source_id", name=op.f("pk_hourly_rollups")
        ),
        schema="metrics",
    )
    # No hourly facts exist before this revision: there is nothing to roll up yet.


def downgrade() -> None:
    op.drop_table("hourly_rollups", schema="metrics")
    # Hours cannot go back into a day-keyed table beside their day: hourly facts are dropped.
    op.execute("DELETE FROM metrics.facts WHERE hour <> -1")
    op.execute("DELETE FROM metrics.fact_revisions WHERE hour <> -1")
    op.drop_constraint("pk_facts", "facts", type_="primary", schema="metrics")
    op.create_primary_key(
        "pk_facts", "facts", ["source_id", "entity", "day", "metric"], schema="metrics"
    )
    op.drop_constraint(op.f("ck_facts_hour"), "facts", type_="check", schema="metrics")
    op.drop_column("fact_revisions", "hour", schema="metrics")
    op.drop_column("facts", "hour", schema="metrics")
