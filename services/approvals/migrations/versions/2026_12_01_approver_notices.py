"""approver notices: each person's preferred channel, and the notices outbox

Revision ID: 3c8d2e7f5a11
Revises: b8f2f49678ba
Create Date: 2026-12-01 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3c8d2e7f5a11"
down_revision: str | None = "b8f2f49678ba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_preferences",
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person", name=op.f("pk_notice_preferences")),
        schema="approvals",
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint(
            "request_id", "stage", "reason", "person", name=op.f("uq_notices_request_id")
        ),
        schema="approvals",
    )
    op.create_index(
        op.f("ix_approvals_notices_request_id"), "notices", ["request_id"], schema="approvals"
    )
    op.create_index(op.f("ix_approvals_notices_status"), "notices", ["status"], schema="approvals")


def downgrade() -> None:
    op.drop_index(op.f("ix_approvals_notices_status"), table_name="notices", schema="approvals")
    op.drop_index(op.f("ix_approvals_notices_request_id"), table_name="notices", schema="approvals")
    op.drop_table("notices", schema="approvals")
    op.drop_table("notice_preferences", schema="approvals")
