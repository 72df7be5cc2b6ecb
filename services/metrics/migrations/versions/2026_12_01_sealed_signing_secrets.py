"""sealed signing secrets

Sources' signing secrets were kept in plain text in ``secrets``; each becomes ``sealed`` with the
deployment's SECRET_KEYS (shared/kit/secrets.py), so this migration needs the services' keys.

Revision ID: fdad0ffdd302
Revises: 427ff8a4fcc3
Create Date: 2026-12-01 03:40:00.000000
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from shared.kit.secrets import secret_box

revision: str = "fdad0ffdd302"
down_revision: str | None = "427ff8a4fcc3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rewrite(old: str, new: str, change: Callable[[str], str]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, secrets FROM metrics.sources WHERE jsonb_path_exists(secrets, :has)"),
        {"has": f"$[*].{old}"},
    ).all()
    for source_id, secrets in rows:
        converted: list[dict[str, Any]] = [
            {**{k: v for k, v in s.items() if k != old}, new: change(s[old])} if old in s else s
            for s in secrets
        ]
        bind.execute(
            sa.text("UPDATE metrics.sources SET secrets = CAST(:secrets AS jsonb) WHERE id = :id"),
            {"secrets": json.dumps(converted), "id": source_id},
        )


def upgrade() -> None:
    _rewrite("secret", "sealed", secret_box().seal)


def downgrade() -> None:
    _rewrite("sealed", "secret", secret_box().open)
