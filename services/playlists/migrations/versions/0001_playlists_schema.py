"""playlists schema

Revision ID: 0001
Revises:
Create Date: 2026-11-30 12:36:26.260606
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "albums",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("artist_names", sa.Text(), nullable=False),
        sa.Column("release_year", sa.Integer(), nullable=True),
        sa.Column("cover_url", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column("catalog_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'deleted', 'merged')", name=op.f("ck_albums_known_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_albums")),
        schema="playlists",
    )
    op.create_table(
        "artists",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sort_name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column("catalog_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'deleted', 'merged')", name=op.f("ck_artists_known_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artists")),
        schema="playlists",
    )
    op.create_table(
        "collection_entries",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column(
            "saved_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('album', 'artist')", name=op.f("ck_collection_entries_known_kind")
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", "entity_id", name=op.f("pk_collection_entries")),
        schema="playlists",
    )
    op.create_index(
        "ix_collection_entries_entity",
        "collection_entries",
        ["kind", "entity_id"],
        unique=False,
        schema="playlists",
    )
    op.create_index(
        "ix_collection_entries_saved",
        "collection_entries",
        ["user_id", "kind", "saved_at", "entity_id"],
        unique=False,
        schema="playlists",
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
        schema="playlists",
    )
    op.create_index(
        "ix_dead_letters_pending",
        "dead_letters",
        ["id"],
        unique=False,
        schema="playlists",
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    op.create_index(
        "ix_dead_letters_stream_seq",
        "dead_letters",
        ["stream", "stream_seq"],
        unique=False,
        schema="playlists",
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
        schema="playlists",
    )
    op.create_table(
        "likes",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("track_id", sa.UUID(), nullable=False),
        sa.Column("liked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "track_id", name=op.f("pk_likes")),
        schema="playlists",
    )
    op.create_index("ix_likes_track_id", "likes", ["track_id"], unique=False, schema="playlists")
    op.create_table(
        "listen_batches",
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "counted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_listen_batches")),
        schema="playlists",
    )
    op.create_table(
        "members",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("username", name=op.f("uq_members_username")),
        schema="playlists",
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
        schema="playlists",
    )
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        unique=False,
        schema="playlists",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        schema="playlists",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "playlists",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(collation="C"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("visibility", sa.Text(), server_default=sa.text("'private'"), nullable=False),
        sa.Column("collaborative", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("cover_url", sa.Text(), nullable=True),
        sa.Column("snapshot_id", sa.UUID(), nullable=False),
        sa.Column("track_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), server_default="0", nullable=False),
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
            "visibility IN ('private', 'unlisted', 'public')",
            name=op.f("ck_playlists_known_visibility"),
        ),
        sa.CheckConstraint("duration_ms >= 0", name=op.f("ck_playlists_duration_not_negative")),
        sa.CheckConstraint(
            "length(btrim(name)) BETWEEN 1 AND 200", name=op.f("ck_playlists_name_length")
        ),
        sa.CheckConstraint(
            "track_count BETWEEN 0 AND 10000", name=op.f("ck_playlists_track_count_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlists")),
        schema="playlists",
    )
    op.create_index(
        "ix_playlists_owner_id", "playlists", ["owner_id", "id"], unique=False, schema="playlists"
    )
    op.create_index(
        "ix_playlists_owner_name",
        "playlists",
        ["owner_id", "name_key", "id"],
        unique=False,
        schema="playlists",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_playlists_owner_updated",
        "playlists",
        ["owner_id", "updated_at", "id"],
        unique=False,
        schema="playlists",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "plays",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("track_id", sa.UUID(), nullable=False),
        sa.Column("play_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_played_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("play_count > 0", name=op.f("ck_plays_play_count_positive")),
        sa.PrimaryKeyConstraint("user_id", "track_id", name=op.f("pk_plays")),
        schema="playlists",
    )
    op.create_index("ix_plays_track_id", "plays", ["track_id"], unique=False, schema="playlists")
    op.create_index(
        "ix_plays_user_last_played",
        "plays",
        ["user_id", "last_played_at"],
        unique=False,
        schema="playlists",
    )
    op.create_index(
        "ix_plays_user_play_count",
        "plays",
        ["user_id", "play_count"],
        unique=False,
        schema="playlists",
    )
    op.create_table(
        "smart_playlists",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
            "length(btrim(name)) BETWEEN 1 AND 200", name=op.f("ck_smart_playlists_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smart_playlists")),
        schema="playlists",
    )
    op.create_index(
        "ix_smart_playlists_owner_id",
        "smart_playlists",
        ["owner_id", "id"],
        unique=False,
        schema="playlists",
    )
    op.create_table(
        "tracks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_key", sa.Text(), nullable=False),
        sa.Column("artist_names", sa.Text(), nullable=False),
        sa.Column("artist_key", sa.Text(), nullable=False),
        sa.Column("primary_artist_id", sa.UUID(), nullable=True),
        sa.Column("album_id", sa.UUID(), nullable=True),
        sa.Column("album_title", sa.Text(), nullable=True),
        sa.Column("album_key", sa.Text(), nullable=True),
        sa.Column("album_year", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column(
            "genres",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "genre_keys",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column("merged_into", sa.UUID(), nullable=True),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("catalog_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'merged') = (merged_into IS NOT NULL)",
            name=op.f("ck_tracks_merged_names_survivor"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'deleted', 'merged', 'pending')",
            name=op.f("ck_tracks_known_status"),
        ),
        sa.CheckConstraint("duration_ms > 0", name=op.f("ck_tracks_duration_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracks")),
        schema="playlists",
    )
    op.create_index("ix_tracks_album_id", "tracks", ["album_id"], unique=False, schema="playlists")
    op.create_index(
        "ix_tracks_artist_title",
        "tracks",
        ["artist_key", "title_key"],
        unique=False,
        schema="playlists",
    )
    op.create_index(
        "ix_tracks_primary_artist_id",
        "tracks",
        ["primary_artist_id"],
        unique=False,
        schema="playlists",
    )
    op.create_table(
        "collaborators",
        sa.Column("playlist_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "role IN ('editor', 'viewer')", name=op.f("ck_collaborators_known_role")
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.playlists.id"],
            name=op.f("fk_collaborators_playlist_id_playlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("playlist_id", "user_id", name=op.f("pk_collaborators")),
        schema="playlists",
    )
    op.create_index(
        "ix_collaborators_user_id", "collaborators", ["user_id"], unique=False, schema="playlists"
    )
    op.create_table(
        "external_mappings",
        sa.Column("playlist_id", sa.UUID(), nullable=False),
        sa.Column("connector", sa.Text(), nullable=False),
        sa.Column("connector_playlist_id", sa.Text(), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "connector ~ '^[a-z][a-z0-9_-]{0,31}$'",
            name=op.f("ck_external_mappings_connector_name"),
        ),
        sa.CheckConstraint(
            "length(connector_playlist_id) BETWEEN 1 AND 200",
            name=op.f("ck_external_mappings_connector_playlist_id_length"),
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.playlists.id"],
            name=op.f("fk_external_mappings_playlist_id_playlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("playlist_id", "connector", name=op.f("pk_external_mappings")),
        schema="playlists",
    )
    op.create_table(
        "items",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("playlist_id", sa.UUID(), nullable=False),
        sa.Column("track_id", sa.UUID(), nullable=False),
        sa.Column("sort_key", sa.Text(collation="C"), nullable=False),
        sa.Column("added_by", sa.UUID(), nullable=True),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("title", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("artist_names", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("album_id", sa.UUID(), nullable=True),
        sa.Column("album_title", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("available", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "octet_length(sort_key) BETWEEN 1 AND 64", name=op.f("ck_items_sort_key_length")
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.playlists.id"],
            name=op.f("fk_items_playlist_id_playlists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"], ["playlists.tracks.id"], name=op.f("fk_items_track_id_tracks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint(
            "playlist_id",
            "sort_key",
            deferrable=True,
            initially="IMMEDIATE",
            name="uq_items_playlist_id_sort_key",
        ),
        schema="playlists",
    )
    op.create_index("ix_items_track_id", "items", ["track_id"], unique=False, schema="playlists")


def downgrade() -> None:
    op.drop_index("ix_items_track_id", table_name="items", schema="playlists")
    op.drop_table("items", schema="playlists")
    op.drop_table("external_mappings", schema="playlists")
    op.drop_index("ix_collaborators_user_id", table_name="collaborators", schema="playlists")
    op.drop_table("collaborators", schema="playlists")
    op.drop_index("ix_tracks_primary_artist_id", table_name="tracks", schema="playlists")
    op.drop_index("ix_tracks_artist_title", table_name="tracks", schema="playlists")
    op.drop_index("ix_tracks_album_id", table_name="tracks", schema="playlists")
    op.drop_table("tracks", schema="playlists")
    op.drop_index("ix_smart_playlists_owner_id", table_name="smart_playlists", schema="playlists")
    op.drop_table("smart_playlists", schema="playlists")
    op.drop_index("ix_plays_user_play_count", table_name="plays", schema="playlists")
    op.drop_index("ix_plays_user_last_played", table_name="plays", schema="playlists")
    op.drop_index("ix_plays_track_id", table_name="plays", schema="playlists")
    op.drop_table("plays", schema="playlists")
    op.drop_index(
        "ix_playlists_owner_updated",
        table_name="playlists",
        schema="playlists",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_playlists_owner_name",
        table_name="playlists",
        schema="playlists",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_playlists_owner_id", table_name="playlists", schema="playlists")
    op.drop_table("playlists", schema="playlists")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema="playlists",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_index(
        "ix_outbox_published_at",
        table_name="outbox",
        schema="playlists",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.drop_table("outbox", schema="playlists")
    op.drop_table("members", schema="playlists")
    op.drop_table("listen_batches", schema="playlists")
    op.drop_index("ix_likes_track_id", table_name="likes", schema="playlists")
    op.drop_table("likes", schema="playlists")
    op.drop_table("inbox", schema="playlists")
    op.drop_index("ix_dead_letters_stream_seq", table_name="dead_letters", schema="playlists")
    op.drop_index(
        "ix_dead_letters_pending",
        table_name="dead_letters",
        schema="playlists",
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    op.drop_table("dead_letters", schema="playlists")
    op.drop_index(
        "ix_collection_entries_saved", table_name="collection_entries", schema="playlists"
    )
    op.drop_index(
        "ix_collection_entries_entity", table_name="collection_entries", schema="playlists"
    )
    op.drop_table("collection_entries", schema="playlists")
    op.drop_table("artists", schema="playlists")
    op.drop_table("albums", schema="playlists")
