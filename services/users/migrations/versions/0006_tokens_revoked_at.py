"""users.tokens_revoked_at: when the account's access tokens were last revoked

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 13:30:00

Access tokens carry ``iat`` in whole seconds; a token issued right after a revocation, in the
same second, is stamped with the next second so verifiers do not refuse it. That needs the
instant of the last revocation (disable, password change, admin role taken back).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("tokens_revoked_at", sa.DateTime(timezone=True), nullable=True),
        schema="users",
    )


def downgrade() -> None:
    op.drop_column("users", "tokens_revoked_at", schema="users")
