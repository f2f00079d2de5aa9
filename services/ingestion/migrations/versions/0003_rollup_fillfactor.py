"""user_track_totals: half of each page left free, so an import's chunks update in place.

Each chunk of an import adds to the per-track totals of every track it holds (at 1,000,000
plays over 50,000 tracks: every row, twenty times). On full pages each of those updates is
a new row version elsewhere and an entry in both indexes; with room on the page it is a
heap-only (HOT) update, and the page is pruned of the previous chunk's versions as it fills.
Measured on a 50,000-play chunk over 50,000 tracks: 2.5 s → 0.5 s for the totals upsert.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE ingestion.user_track_totals SET (fillfactor = 50)")


def downgrade() -> None:
    op.execute("ALTER TABLE ingestion.user_track_totals RESET (fillfactor)")
