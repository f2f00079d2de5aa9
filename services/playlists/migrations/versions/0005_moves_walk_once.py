"""items: a move's positions found in one function, the second walked from the first

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:45:00.000000

A move needs the key at ``start`` (then ``n`` ids from it) and the keys either side of
``before``. Migration 0004's functions walk the index to each from its nearer end. When the
two positions are closer to each other than the farther one is to its end, the second is
found walking from the first one's key instead: the walk is the smaller of the two, never
longer than before. Planned with ``enable_sort`` off like 0004's: only index walks in key order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ``moved``: the ids of ``n`` items from position ``start``, in order; ``around``: the
    # keys at positions ``before - 1`` and ``before`` (NULL past either end), ``before``
    # outside ``[start, start + n]`` (a move to where the range is never gets here).
    op.execute(
        """
        CREATE FUNCTION playlists.moving(
            playlist uuid, total integer, start integer, n integer, before integer,
            OUT moved uuid[], OUT around text[]
        ) LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
        DECLARE
            first text;
            found text[];
            to_start integer := least(start, total - 1 - start);
            to_before integer := least(before, total - before);
            apart integer := abs(before - start);
        BEGIN
            IF apart >= greatest(to_start, to_before) OR to_start <= to_before THEN
                IF start < total / 2 THEN
                    first := (SELECT sort_key FROM playlists.items
                        WHERE playlist_id = playlist ORDER BY sort_key OFFSET start LIMIT 1);
                ELSE
                    first := (SELECT sort_key FROM playlists.items
                        WHERE playlist_id = playlist ORDER BY sort_key DESC
                        OFFSET total - 1 - start LIMIT 1);
                END IF;
                IF apart >= greatest(to_start, to_before) THEN
                    around := playlists.keys_around(playlist, total, before);
                ELSIF before > start THEN
                    found := ARRAY(SELECT sort_key FROM playlists.items
                        WHERE playlist_id = playlist AND sort_key >= first COLLATE "C"
                        ORDER BY sort_key OFFSET before - 1 - start LIMIT 2);
                    around := ARRAY[found[1], found[2]];
                ELSE
                    found := ARRAY(SELECT sort_key FROM playlists.items
                        WHERE playlist_id = playlist AND sort_key < first COLLATE "C"
                        ORDER BY sort_key DESC OFFSET start - 1 - before LIMIT 2);
                    around := ARRAY[found[2], found[1]];
                END IF;
            ELSE
                around := playlists.keys_around(playlist, total, before);
                IF start > before THEN
                    first := (SELECT sort_key FROM playlists.items
                        WHERE playlist_id = playlist AND sort_key >= around[2] COLLATE "C"
                        ORDER BY sort_key OFFSET start - before LIMIT 1);
                ELSE
                    first := (SELECT sort_key FROM playlists.items
                        WHERE playlist_id = playlist AND sort_key <= around[1] COLLATE "C"
                        ORDER BY sort_key DESC OFFSET before - 1 - start LIMIT 1);
                END IF;
            END IF;
            moved := ARRAY(SELECT id FROM playlists.items
                WHERE playlist_id = playlist AND sort_key >= first COLLATE "C"
                ORDER BY sort_key LIMIT n);
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION playlists.moving(uuid, integer, integer, integer, integer)")
