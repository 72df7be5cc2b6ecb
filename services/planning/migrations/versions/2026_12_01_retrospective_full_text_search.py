"""retrospective rows searched by English word stems

A GIN index over the rows' words (``models.RETROSPECTIVE_DOCUMENT``) so that the knowledge
base's full-text search does not read every row.

Revision ID: 3e8b1f6a9c42
Revises: 6124ef2d4390
Create Date: 2026-12-01 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e8b1f6a9c42"
down_revision: str | None = "6124ef2d4390"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENT = (
    "to_tsvector('english'::regconfig, (((((((stage || ' '::text) || what_worked)"
    " || ' '::text) || fell_short) || ' '::text) || root_cause) || ' '::text) || measure)"
)


def upgrade() -> None:
    op.create_index(
        "ix_planning_retrospective_rows_words",
        "retrospective_rows",
        [sa.text(DOCUMENT)],
        schema="planning",
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_planning_retrospective_rows_words", table_name="retrospective_rows", schema="planning"
    )
