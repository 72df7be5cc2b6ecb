"""dirty days notify

A plan-day marked dirty (by ingest, a coalesced group, an FX restatement) sends
``NOTIFY metrics_dirty`` with its writer's commit, so the snapshot job wakes on the data instead
of waiting for its next tick. A trigger, so that every writer of ``dirty_days`` wakes it and none
can forget to; PostgreSQL folds a transaction's identical notifications into one.

Revision ID: 7c1d2e3f4a5b
Revises: 3e8b1f6a9c24
Create Date: 2026-12-01 06:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c1d2e3f4a5b"
down_revision: str | None = "9d4c2b7e1f35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION metrics.notify_dirty_days() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('metrics_dirty', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER dirty_days_notify AFTER INSERT OR UPDATE ON metrics.dirty_days
        FOR EACH ROW EXECUTE FUNCTION metrics.notify_dirty_days()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER dirty_days_notify ON metrics.dirty_days")
    op.execute("DROP FUNCTION metrics.notify_dirty_days()")
