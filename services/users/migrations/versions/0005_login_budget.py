"""credentials.failed_logins(_at): the failed-login budget of each account

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 13:00:00

Every account starts with its whole budget (no failures counted).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "credentials",
        sa.Column("failed_logins", sa.Double(), server_default="0", nullable=False),
        schema="users",
    )
    op.add_column(
        "credentials",
        sa.Column("failed_logins_at", sa.DateTime(timezone=True), nullable=True),
        schema="users",
    )
    op.create_check_constraint(
        op.f("ck_credentials_failed_logins_not_negative"),
        "credentials",
        "failed_logins >= 0",
        schema="users",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_credentials_failed_logins_not_negative"),
        "credentials",
        schema="users",
        type_="check",
    )
    op.drop_column("credentials", "failed_logins_at", schema="users")
    op.drop_column("credentials", "failed_logins", schema="users")
