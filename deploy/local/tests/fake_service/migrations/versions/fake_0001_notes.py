"""Create fake_users.notes.

Revision ID: fake_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "fake_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        schema="fake_users",
    )


def downgrade() -> None:
    op.drop_table("notes", schema="fake_users")
