"""catalog schema: artists, albums, tracks, credits, genres, external ids, images,
descriptions, redirects, search vocabulary, popularity batches, outbox/inbox/dead letters.

The pg_trgm extension must exist in the catalog schema before this runs: the administrator
creates it at provisioning time (``ServiceDatabase(extensions=("pg_trgm", "unaccent"))``);
a service role may not. If it is missing and the role may create it, it is created here.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 05:41:46.056708
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENSURE_TRGM = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA catalog;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'the catalog needs the pg_trgm extension in schema catalog; '
                'an administrator must run: CREATE EXTENSION pg_trgm SCHEMA catalog';
        END;
    END IF;
END $$;
"""

# The search vocabulary follows every write of a name or title: a statement-level trigger
# adds the words of changed search vectors that are not known yet. Writers of new words
# take one advisory lock (the catalog's write lock, also taken by resolution before it
# creates anything), so concurrent inserts of the same words can never deadlock.
SEARCH_WORDS_FUNCTION = """
CREATE FUNCTION catalog.add_search_words() RETURNS trigger
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

VOCABULARY_TABLES = ("artists", "albums", "tracks")


def upgrade() -> None:
    op.execute(ENSURE_TRGM)
    op.create_table(
        "artists",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sort_name", sa.Text(), nullable=False),
        sa.Column("name_norm", sa.Text(), nullable=False),
        sa.Column("name_search", sa.Text(), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, name_search)", persisted=True),
            nullable=True,
        ),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_artists_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artists")),
        schema="catalog",
    )
    op.create_index(
        "ix_artists_name_norm_live",
        "artists",
        ["name_norm", "id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_artists_name_trgm",
        "artists",
        [sa.literal_column("(' ' || name_norm) gin_trgm_ops")],
        unique=False,
        schema="catalog",
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    )
    op.create_index(
        "ix_artists_search_vector",
        "artists",
        ["search_vector"],
        unique=False,
        schema="catalog",
        postgresql_using="gin",
        postgresql_with={"gin_pending_list_limit": "1024"},
    )
    op.create_index(
        "ix_artists_source_live",
        "artists",
        ["source", "id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("stream_seq", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column(
            "failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replay_error", sa.Text(), nullable=True),
        sa.CheckConstraint("deliveries >= 0", name=op.f("ck_dead_letters_deliveries_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        schema="catalog",
    )
    op.create_index(
        "ix_dead_letters_pending",
        "dead_letters",
        ["id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    op.create_index(
        "ix_dead_letters_stream_seq",
        "dead_letters",
        ["stream", "stream_seq"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "descriptions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "entity_type IN ('track', 'album', 'artist')",
            name=op.f("ck_descriptions_known_entity_type"),
        ),
        sa.CheckConstraint(
            "language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'",
            name=op.f("ck_descriptions_language_tag"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_descriptions")),
        sa.UniqueConstraint(
            "entity_type",
            "entity_id",
            "source",
            "language",
            name=op.f("uq_descriptions_entity_type_entity_id_source_language"),
        ),
        schema="catalog",
    )
    op.create_table(
        "external_ids",
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "entity_type IN ('track', 'album', 'artist')",
            name=op.f("ck_external_ids_known_entity_type"),
        ),
        sa.CheckConstraint(
            "namespace <> 'isrc' OR value ~ '^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$'",
            name=op.f("ck_external_ids_isrc_format"),
        ),
        sa.CheckConstraint(
            "namespace IN ('isrc', 'mbid', 'spotify', 'discogs', 'lastfm', 'local')",
            name=op.f("ck_external_ids_known_namespace"),
        ),
        sa.CheckConstraint(
            "length(value) BETWEEN 1 AND 200", name=op.f("ck_external_ids_value_length")
        ),
        sa.PrimaryKeyConstraint("entity_type", "namespace", "value", name=op.f("pk_external_ids")),
        schema="catalog",
    )
    op.create_index(
        "ix_external_ids_entity",
        "external_ids",
        ["entity_type", "entity_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "genres",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name=op.f("ck_genres_slug_format")),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_genres_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genres")),
        sa.UniqueConstraint("slug", name=op.f("uq_genres_slug")),
        schema="catalog",
    )
    op.create_table(
        "images",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), server_default=sa.text("'cover'"), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "entity_type IN ('track', 'album', 'artist')", name=op.f("ck_images_known_entity_type")
        ),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_images_dimensions_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint(
            "entity_type", "entity_id", "url", name=op.f("uq_images_entity_type_entity_id_url")
        ),
        schema="catalog",
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
        schema="catalog",
    )
    op.create_table(
        "listen_batches",
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_listen_batches")),
        schema="catalog",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_outbox_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        schema="catalog",
    )
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "redirects",
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("from_id", sa.UUID(), nullable=False),
        sa.Column("into_id", sa.UUID(), nullable=False),
        sa.Column(
            "merged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "entity_type IN ('track', 'album', 'artist')",
            name=op.f("ck_redirects_known_entity_type"),
        ),
        sa.CheckConstraint("from_id <> into_id", name=op.f("ck_redirects_not_to_itself")),
        sa.PrimaryKeyConstraint("entity_type", "from_id", name=op.f("pk_redirects")),
        schema="catalog",
    )
    op.create_index(
        "ix_redirects_into", "redirects", ["entity_type", "into_id"], unique=False, schema="catalog"
    )
    op.create_table(
        "search_words",
        sa.Column("word", sa.Text(collation="C"), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
        schema="catalog",
    )
    op.create_index(
        "ix_search_words_trgm",
        "search_words",
        [sa.literal_column("(' ' || word) gin_trgm_ops")],
        unique=False,
        schema="catalog",
        postgresql_using="gin",
        postgresql_with={"gin_pending_list_limit": "256"},
    )
    op.create_table(
        "albums",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_norm", sa.Text(), nullable=False),
        sa.Column("title_variant", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("title_search", sa.Text(), nullable=False),
        sa.Column("album_type", sa.Text(), server_default=sa.text("'album'"), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("release_year", sa.SmallInteger(), nullable=True),
        sa.Column("total_tracks", sa.SmallInteger(), nullable=True),
        sa.Column("cover_url", sa.Text(), nullable=True),
        sa.Column("artist_names", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("artist_names_search", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("primary_artist_id", sa.UUID(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple'::regconfig, title_search), 'A') || setweight(to_tsvector('simple'::regconfig, artist_names_search), 'B')",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "album_type IN ('album', 'single', 'ep', 'compilation')",
            name=op.f("ck_albums_known_album_type"),
        ),
        sa.CheckConstraint("length(btrim(title)) > 0", name=op.f("ck_albums_title_not_blank")),
        sa.CheckConstraint(
            "release_date IS NULL OR release_year = EXTRACT(YEAR FROM release_date)::int",
            name=op.f("ck_albums_release_year_matches_date"),
        ),
        sa.CheckConstraint(
            "release_year BETWEEN 1 AND 9999", name=op.f("ck_albums_release_year_range")
        ),
        sa.CheckConstraint("total_tracks > 0", name=op.f("ck_albums_total_tracks_positive")),
        sa.ForeignKeyConstraint(
            ["primary_artist_id"],
            ["catalog.artists.id"],
            name=op.f("fk_albums_primary_artist_id_artists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_albums")),
        schema="catalog",
    )
    op.create_index(
        "ix_albums_primary_artist_id",
        "albums",
        ["primary_artist_id"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        "ix_albums_release_year_live",
        "albums",
        ["release_year", "id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_albums_search_vector",
        "albums",
        ["search_vector"],
        unique=False,
        schema="catalog",
        postgresql_using="gin",
        postgresql_with={"gin_pending_list_limit": "1024"},
    )
    op.create_index(
        "ix_albums_source_live",
        "albums",
        ["source", "id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_albums_title_norm_live",
        "albums",
        ["title_norm", "id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "artist_genres",
        sa.Column("artist_id", sa.UUID(), nullable=False),
        sa.Column("genre_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["catalog.artists.id"],
            name=op.f("fk_artist_genres_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["genre_id"],
            ["catalog.genres.id"],
            name=op.f("fk_artist_genres_genre_id_genres"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artist_id", "genre_id", name=op.f("pk_artist_genres")),
        schema="catalog",
    )
    op.create_index(
        "ix_artist_genres_genre_id",
        "artist_genres",
        ["genre_id", "artist_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "album_credits",
        sa.Column("album_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("artist_id", sa.UUID(), nullable=False),
        sa.Column("credited_name", sa.Text(), nullable=False),
        sa.Column("join_phrase", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_album_credits_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["album_id"],
            ["catalog.albums.id"],
            name=op.f("fk_album_credits_album_id_albums"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["catalog.artists.id"], name=op.f("fk_album_credits_artist_id_artists")
        ),
        sa.PrimaryKeyConstraint("album_id", "position", name=op.f("pk_album_credits")),
        schema="catalog",
    )
    op.create_index(
        "ix_album_credits_artist_id",
        "album_credits",
        ["artist_id", "album_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "album_genres",
        sa.Column("album_id", sa.UUID(), nullable=False),
        sa.Column("genre_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["album_id"],
            ["catalog.albums.id"],
            name=op.f("fk_album_genres_album_id_albums"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["genre_id"],
            ["catalog.genres.id"],
            name=op.f("fk_album_genres_genre_id_genres"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("album_id", "genre_id", name=op.f("pk_album_genres")),
        schema="catalog",
    )
    op.create_index(
        "ix_album_genres_genre_id",
        "album_genres",
        ["genre_id", "album_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "tracks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_norm", sa.Text(), nullable=False),
        sa.Column("title_variant", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("title_search", sa.Text(), nullable=False),
        sa.Column("album_id", sa.UUID(), nullable=True),
        sa.Column("album_title_search", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("disc_number", sa.SmallInteger(), nullable=True),
        sa.Column("track_number", sa.SmallInteger(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("explicit", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("artist_names", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("artist_names_search", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("primary_artist_id", sa.UUID(), nullable=True),
        sa.Column("play_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple'::regconfig, title_search), 'A') || setweight(to_tsvector('simple'::regconfig, artist_names_search), 'B') || setweight(to_tsvector('simple'::regconfig, album_title_search), 'C')",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("disc_number > 0", name=op.f("ck_tracks_disc_number_positive")),
        sa.CheckConstraint("duration_ms > 0", name=op.f("ck_tracks_duration_positive")),
        sa.CheckConstraint("length(btrim(title)) > 0", name=op.f("ck_tracks_title_not_blank")),
        sa.CheckConstraint("play_count >= 0", name=op.f("ck_tracks_play_count_not_negative")),
        sa.CheckConstraint("track_number > 0", name=op.f("ck_tracks_track_number_positive")),
        sa.ForeignKeyConstraint(
            ["album_id"], ["catalog.albums.id"], name=op.f("fk_tracks_album_id_albums")
        ),
        sa.ForeignKeyConstraint(
            ["primary_artist_id"],
            ["catalog.artists.id"],
            name=op.f("fk_tracks_primary_artist_id_artists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracks")),
        schema="catalog",
    )
    op.create_index(
        "ix_tracks_album_position",
        "tracks",
        ["album_id", "disc_number", "track_number"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        "ix_tracks_popularity_live",
        "tracks",
        [sa.literal_column("play_count DESC"), sa.literal_column("id DESC")],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_tracks_primary_artist_title",
        "tracks",
        ["primary_artist_id", "title_norm"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        "ix_tracks_search_vector",
        "tracks",
        ["search_vector"],
        unique=False,
        schema="catalog",
        postgresql_using="gin",
        postgresql_with={"gin_pending_list_limit": "1024"},
    )
    op.create_index(
        "ix_tracks_title_norm_live",
        "tracks",
        ["title_norm", "id"],
        unique=False,
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "track_credits",
        sa.Column("track_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("artist_id", sa.UUID(), nullable=False),
        sa.Column("credited_name", sa.Text(), nullable=False),
        sa.Column("join_phrase", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_track_credits_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["catalog.artists.id"], name=op.f("fk_track_credits_artist_id_artists")
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["catalog.tracks.id"],
            name=op.f("fk_track_credits_track_id_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("track_id", "position", name=op.f("pk_track_credits")),
        schema="catalog",
    )
    op.create_index(
        "ix_track_credits_artist_id",
        "track_credits",
        ["artist_id", "track_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "track_genres",
        sa.Column("track_id", sa.UUID(), nullable=False),
        sa.Column("genre_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["genre_id"],
            ["catalog.genres.id"],
            name=op.f("fk_track_genres_genre_id_genres"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["catalog.tracks.id"],
            name=op.f("fk_track_genres_track_id_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("track_id", "genre_id", name=op.f("pk_track_genres")),
        schema="catalog",
    )
    op.create_index(
        "ix_track_genres_genre_id",
        "track_genres",
        ["genre_id", "track_id"],
        unique=False,
        schema="catalog",
    )

    op.execute(SEARCH_WORDS_FUNCTION)
    for table in VOCABULARY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_search_words_insert AFTER INSERT ON catalog.{table} "
            "REFERENCING NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION catalog.add_search_words()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_words_update AFTER UPDATE ON catalog.{table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION catalog.add_search_words()"
        )


def downgrade() -> None:
    for table in VOCABULARY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_search_words_insert ON catalog.{table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_search_words_update ON catalog.{table}")
    op.execute("DROP FUNCTION IF EXISTS catalog.add_search_words()")
    op.drop_index("ix_track_genres_genre_id", table_name="track_genres", schema="catalog")
    op.drop_table("track_genres", schema="catalog")
    op.drop_index("ix_track_credits_artist_id", table_name="track_credits", schema="catalog")
    op.drop_table("track_credits", schema="catalog")
    op.drop_index(
        "ix_tracks_title_norm_live",
        table_name="tracks",
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_tracks_search_vector", table_name="tracks", schema="catalog", postgresql_using="gin"
    )
    op.drop_index("ix_tracks_primary_artist_title", table_name="tracks", schema="catalog")
    op.drop_index(
        "ix_tracks_popularity_live",
        table_name="tracks",
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_tracks_album_position", table_name="tracks", schema="catalog")
    op.drop_table("tracks", schema="catalog")
    op.drop_index("ix_album_genres_genre_id", table_name="album_genres", schema="catalog")
    op.drop_table("album_genres", schema="catalog")
    op.drop_index("ix_album_credits_artist_id", table_name="album_credits", schema="catalog")
    op.drop_table("album_credits", schema="catalog")
    op.drop_index("ix_artist_genres_genre_id", table_name="artist_genres", schema="catalog")
    op.drop_table("artist_genres", schema="catalog")
    op.drop_index(
        "ix_albums_title_norm_live",
        table_name="albums",
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_albums_source_live",
        table_name="albums",
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_albums_search_vector", table_name="albums", schema="catalog", postgresql_using="gin"
    )
    op.drop_index(
        "ix_albums_release_year_live",
        table_name="albums",
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_albums_primary_artist_id", table_name="albums", schema="catalog")
    op.drop_table("albums", schema="catalog")
    op.drop_index("ix_search_words_trgm", table_name="search_words", schema="catalog")
    op.drop_table("search_words", schema="catalog")
    op.drop_index("ix_redirects_into", table_name="redirects", schema="catalog")
    op.drop_table("redirects", schema="catalog")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema="catalog",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_index(
        "ix_outbox_published_at",
        table_name="outbox",
        schema="catalog",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.drop_table("outbox", schema="catalog")
    op.drop_table("listen_batches", schema="catalog")
    op.drop_table("inbox", schema="catalog")
    op.drop_table("images", schema="catalog")
    op.drop_table("genres", schema="catalog")
    op.drop_index("ix_external_ids_entity", table_name="external_ids", schema="catalog")
    op.drop_table("external_ids", schema="catalog")
    op.drop_table("descriptions", schema="catalog")
    op.drop_index("ix_dead_letters_stream_seq", table_name="dead_letters", schema="catalog")
    op.drop_index(
        "ix_dead_letters_pending",
        table_name="dead_letters",
        schema="catalog",
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    op.drop_table("dead_letters", schema="catalog")
    op.drop_index(
        "ix_artists_source_live",
        table_name="artists",
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_artists_search_vector", table_name="artists", schema="catalog", postgresql_using="gin"
    )
    op.drop_index("ix_artists_name_trgm", table_name="artists", schema="catalog")
    op.drop_index(
        "ix_artists_name_norm_live",
        table_name="artists",
        schema="catalog",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("artists", schema="catalog")
