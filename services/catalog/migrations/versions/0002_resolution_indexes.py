"""resolution write path: an artist's titles from the index alone; vocabulary by key.

Fuzzy resolution compares a candidate's title with every title of its primary artist (about
twenty tracks each). With ``(primary_artist_id, title_norm)`` alone each of those tracks cost a
heap visit, scattered over the table; carrying ``id`` and ``deleted_at`` in the index makes the
comparison an index-only scan. The key columns are unchanged, so every other use of the index
(merges re-pointing an artist's tracks, foreign-key checks) is served as before.

The search-vocabulary trigger looked its words up with ``NOT EXISTS``, which the planner turns
into a hash anti join over the whole of ``search_words`` (a sequential scan of hundreds of
thousands of words, for a few thousand new ones: 60-85 ms per statement that inserts a batch
of tracks). The words are now deduplicated first and each is probed in the primary key (a
subplan the planner cannot turn into that join): the same words are added, in the same order,
under the same lock.

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


# Same contract as 0001's; only the lookup of known words differs (see above).
SEARCH_WORDS_FUNCTION = """
CREATE OR REPLACE FUNCTION catalog.add_search_words() RETURNS trigger
LANGUAGE plpgsql SET search_path = catalog, pg_temp AS $$
DECLARE
    fresh text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(d.w ORDER BY d.w) INTO fresh
        FROM (
            SELECT DISTINCT w FROM new_rows n, unnest(tsvector_to_array(n.search_vector)) AS w
        ) d
        WHERE (SELECT true FROM catalog.search_words s WHERE s.word = d.w) IS NULL;
    ELSE
        SELECT array_agg(d.w ORDER BY d.w) INTO fresh
        FROM (
            SELECT DISTINCT w
            FROM new_rows n JOIN old_rows o ON o.id = n.id,
                 unnest(tsvector_to_array(n.search_vector)) AS w
            WHERE n.search_vector IS DISTINCT FROM o.search_vector
        ) d
        WHERE (SELECT true FROM catalog.search_words s WHERE s.word = d.w) IS NULL;
    END IF;
    IF fresh IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('medley.catalog.writes'));
        INSERT INTO catalog.search_words (word)
        SELECT w FROM unnest(fresh) AS w ORDER BY w
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
"""

# 0001's, for the downgrade.
SEARCH_WORDS_FUNCTION_0001 = """
CREATE OR REPLACE FUNCTION catalog.add_search_words() RETURNS trigger
LANGUAGE plpgsql SET search_path = catalog, pg_temp AS $$
DECLARE
    fresh text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT w ORDER BY w) INTO fresh
        FROM new_rows n, unnest(tsvector_to_array(n.search_vector)) AS w
        WHERE NOT EXISTS (SELECT 1 FROM catalog.search_words s WHERE s.word = w);
    ELSE
        SELECT array_agg(DISTINCT w ORDER BY w) INTO fresh
        FROM new_rows n JOIN old_rows o ON o.id = n.id,
             unnest(tsvector_to_array(n.search_vector)) AS w
        WHERE n.search_vector IS DISTINCT FROM o.search_vector
          AND NOT EXISTS (SELECT 1 FROM catalog.search_words s WHERE s.word = w);
    END IF;
    IF fresh IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('medley.catalog.writes'));
        INSERT INTO catalog.search_words (word)
        SELECT w FROM unnest(fresh) AS w ORDER BY w
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(SEARCH_WORDS_FUNCTION)
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
    op.execute(SEARCH_WORDS_FUNCTION_0001)
    op.drop_index("ix_tracks_primary_artist_title", table_name="tracks", schema="catalog")
    op.create_index(
        "ix_tracks_primary_artist_title",
        "tracks",
        ["primary_artist_id", "title_norm"],
        unique=False,
        schema="catalog",
    )
