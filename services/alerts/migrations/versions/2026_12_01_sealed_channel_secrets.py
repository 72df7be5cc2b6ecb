"""sealed channel secrets

Channels' signing secrets were kept in plain text in ``secret``; they move to ``sealed_secret``,
sealed with the deployment's SECRET_KEYS (shared/kit/secrets.py), so this migration needs the
services' keys.

Revision ID: 1dd7c65bd0b7
Revises: c1225753d2a6
Create Date: 2026-12-01 03:40:00.000000
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from shared.kit.secrets import secret_box

revision: str = "1dd7c65bd0b7"
down_revision: str | None = "c1225753d2a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _move(old: str, new: str, change: Callable[[str], str]) -> None:
    op.add_column("channels", sa.Column(new, sa.Text(), nullable=True), schema="alerts")
    channels = sa.table(
        "channels", sa.column("id"), sa.column(old), sa.column(new), schema="alerts"
    )
    bind = op.get_bind()
    for channel_id, value in bind.execute(sa.select(channels.c.id, channels.c[old])).all():
        bind.execute(
            sa.update(channels).where(channels.c.id == channel_id).values({new: change(value)})
        )
    op.alter_column("channels", new, nullable=False, schema="alerts")
    op.drop_column("channels", old, schema="alerts")


def upgrade() -> None:
    _move("secret", "sealed_secret", secret_box().seal)


def downgrade() -> None:
    _move("sealed_secret", "secret", secret_box().open)
