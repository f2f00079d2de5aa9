"""resolution indexes: the tracks of an artist by title, answered from the index alone.

Fuzzy resolution compares a candidate's title with every title of its primary artist (about
twenty tracks each). With ``(primary_artist_id, title_norm)`` alone each of those tracks cost a
heap visit, scattered over the table; carrying ``id`` and ``deleted_at`` in the index makes the
comparison an index-only scan. The key columns are unchanged, so every other use of the index
(merges re-pointing an artist's tracks, foreign-key checks) is served as before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 07:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_tracks_primary_artist_title", table_name="tracks", schema="catalog")
    op.create_index(
        "ix_tracks_primary_artist_title",
        "tracks",
        ["primary_artist_id", "title_norm"],
        unique=False,
        schema="catalog",
        postgresql_include=["id", "deleted_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_tracks_primary_artist_title", table_name="tracks", schema="catalog")
    op.create_index(
        "ix_tracks_primary_artist_title",
        "tracks",
        ["primary_artist_id", "title_norm"],
        unique=False,
        schema="catalog",
    )
