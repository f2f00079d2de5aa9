"""Per-artist rollups: top artists read them instead of grouping every track's totals.

``user_artist_totals`` holds each user's plays per artist (all time) and
``user_artist_days`` per artist and UTC day (a range sums its days). The artist is the key
top artists groups by: the projected track's artist name, lower-cased ('' for a track not
projected yet). Every write to the plays keeps them in step, and so does a catalog event
that moves a track to another artist. ``tracks`` gets an index on that key (the names shown
for a page of artists). Both are filled here from the plays already stored.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_TOTALS = """
INSERT INTO ingestion.user_artist_totals (user_id, artist_key, plays, ms_played)
SELECT p.user_id, lower(coalesce(t.artist_name, '')), count(*), sum(coalesce(p.ms_played, 0))
FROM ingestion.plays p LEFT JOIN ingestion.tracks t ON t.track_id = p.track_id
GROUP BY 1, 2
"""
BACKFILL_DAYS = """
INSERT INTO ingestion.user_artist_days (user_id, day, artist_key, plays, ms_played)
SELECT p.user_id, (p.listened_at AT TIME ZONE 'UTC')::date, lower(coalesce(t.artist_name, '')),
       count(*), sum(coalesce(p.ms_played, 0))
FROM ingestion.plays p LEFT JOIN ingestion.tracks t ON t.track_id = p.track_id
GROUP BY 1, 2, 3
"""


def upgrade() -> None:
    op.create_table(
        "user_artist_totals",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("artist_key", sa.Text(), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("ms_played", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "artist_key", name=op.f("pk_user_artist_totals")),
        schema="ingestion",
    )
    # Each import chunk updates most of a user's rows: room on the page keeps that in place.
    op.execute("ALTER TABLE ingestion.user_artist_totals SET (fillfactor = 50)")
    op.create_table(
        "user_artist_days",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("artist_key", sa.Text(), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("ms_played", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", "artist_key", name=op.f("pk_user_artist_days")),
        schema="ingestion",
    )
    op.create_index(
        "ix_tracks_artist_key",
        "tracks",
        [sa.text("lower(coalesce(artist_name, ''))")],
        unique=False,
        schema="ingestion",
    )
    op.execute(BACKFILL_TOTALS)
    op.execute(BACKFILL_DAYS)


def downgrade() -> None:
    op.drop_index("ix_tracks_artist_key", table_name="tracks", schema="ingestion")
    op.drop_table("user_artist_days", schema="ingestion")
    op.drop_table("user_artist_totals", schema="ingestion")
