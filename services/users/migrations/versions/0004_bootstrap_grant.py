"""bootstrap_grant: the bootstrap admin is granted once, and that is recorded

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:30:00

At most one row (its key is the constant true). A deployment that already has an admin
used its bootstrap before this revision existed (admins came only from it): its oldest
admin is recorded as the grant, so upgrading never re-arms the bootstrap.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bootstrap_grant",
        sa.Column("singleton", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column(
            "granted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("singleton", name=op.f("ck_bootstrap_grant_one_row")),
        sa.PrimaryKeyConstraint("singleton", name=op.f("pk_bootstrap_grant")),
        schema="users",
    )
    op.execute(
        """
        INSERT INTO users.bootstrap_grant (user_id, username, granted_at)
        SELECT id, username, created_at FROM users.users
        WHERE roles @> ARRAY['admin']::text[]
        ORDER BY created_at, id
        LIMIT 1
        """
    )


def downgrade() -> None:
    op.drop_table("bootstrap_grant", schema="users")
