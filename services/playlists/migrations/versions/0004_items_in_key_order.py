"""items: what reads and moves walk in key order, as functions that always walk the index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:30:00.000000

A position is found by walking a playlist's ``(playlist_id, sort_key)`` index, and a page
is that index range of ready JSON. Left to its estimate (a playlist's share of the table,
which says nothing of how long this one is), the planner read every item of the playlist
and sorted them (in a temporary file for a 10,000-item page), once per position. Each
function here plans its statements with ``enable_sort`` off: an index walk in key order is
then the only plan left, whatever the statistics say. They read nothing else.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The keys at positions ``pos - 1`` and ``pos`` (NULL past either end) of a playlist of
    # ``total`` items, walking the index from the nearer end (index entries only).
    op.execute(
        """
        CREATE FUNCTION playlists.keys_around(playlist uuid, total integer, pos integer)
        RETURNS text[] LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
        DECLARE
            found text[];
        BEGIN
            IF pos <= 0 THEN
                RETURN ARRAY[NULL, (SELECT sort_key FROM playlists.items
                    WHERE playlist_id = playlist ORDER BY sort_key LIMIT 1)];
            ELSIF pos >= total THEN
                RETURN ARRAY[(SELECT sort_key FROM playlists.items
                    WHERE playlist_id = playlist ORDER BY sort_key DESC LIMIT 1), NULL];
            ELSIF pos <= total / 2 THEN
                found := ARRAY(SELECT sort_key FROM playlists.items
                    WHERE playlist_id = playlist ORDER BY sort_key OFFSET pos - 1 LIMIT 2);
                RETURN ARRAY[found[1], found[2]];
            END IF;
            found := ARRAY(SELECT sort_key FROM playlists.items
                WHERE playlist_id = playlist ORDER BY sort_key DESC OFFSET total - 1 - pos LIMIT 2);
            RETURN ARRAY[found[2], found[1]];
        END
        $$
        """
    )
    # The ids of ``n`` items from position ``pos``, in order: the first one's key found by
    # walking the index from the nearer end, then n rows from it.
    op.execute(
        """
        CREATE FUNCTION playlists.ids_from(playlist uuid, total integer, pos integer, n integer)
        RETURNS uuid[] LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
        DECLARE
            first text;
        BEGIN
            IF pos < total / 2 THEN
                first := (SELECT sort_key FROM playlists.items
                    WHERE playlist_id = playlist ORDER BY sort_key OFFSET pos LIMIT 1);
            ELSE
                first := (SELECT sort_key FROM playlists.items
                    WHERE playlist_id = playlist ORDER BY sort_key DESC OFFSET total - 1 - pos
                    LIMIT 1);
            END IF;
            RETURN ARRAY(SELECT id FROM playlists.items
                WHERE playlist_id = playlist AND sort_key >= first COLLATE "C"
                ORDER BY sort_key LIMIT n);
        END
        $$
        """
    )
    # A page: the JSON of up to ``n`` items after the key ``after`` (NULL: from the start),
    # in order, as the bytes the answer holds (no text decoded and encoded again).
    op.execute(
        """
        CREATE FUNCTION playlists.shown_page(playlist uuid, after text, n integer)
        RETURNS bytea[] LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
        BEGIN
            RETURN ARRAY(SELECT textsend(shown_json) FROM playlists.items
                WHERE playlist_id = playlist AND sort_key > coalesce(after, '') COLLATE "C"
                ORDER BY sort_key LIMIT n);
        END
        $$
        """
    )
    # The key of the ``n``th item after ``after`` (a page's last, for the next cursor).
    op.execute(
        """
        CREATE FUNCTION playlists.nth_key(playlist uuid, after text, n integer)
        RETURNS text LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
        BEGIN
            RETURN (SELECT sort_key FROM playlists.items
                WHERE playlist_id = playlist AND sort_key > coalesce(after, '') COLLATE "C"
                ORDER BY sort_key OFFSET n - 1 LIMIT 1);
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION playlists.nth_key(uuid, text, integer)")
    op.execute("DROP FUNCTION playlists.shown_page(uuid, text, integer)")
    op.execute("DROP FUNCTION playlists.ids_from(uuid, integer, integer, integer)")
    op.execute("DROP FUNCTION playlists.keys_around(uuid, integer, integer)")
