"""items: what an item shows, as the JSON its page answers (a stored generated column)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As medley_playlists.models.ITEM_JSON was when this revision was written.
ITEM_JSON = (
    """'"id":"' || id::text || '","track_id":"' || track_id::text"""
    """ || '","available":' || available::text"""
    """ || ',"added_by":' || coalesce('"' || added_by::text || '"', 'null')"""
    """ || ',"added_at":' || coalesce(playlists.json_utc(added_at), 'null')"""
    """ || ',"track":{"title":' || playlists.json_text(title)"""
    """ || ',"artist_names":' || playlists.json_text(artist_names)"""
    """ || ',"album_id":' || coalesce('"' || album_id::text || '"', 'null')"""
    """ || ',"album_title":' || coalesce(playlists.json_text(album_title), 'null')"""
    """ || ',"duration_ms":' || coalesce(duration_ms::text, 'null') || '}}'"""
)


def upgrade() -> None:
    # to_json is STABLE only because of other types' settings: for text and a UTC timestamp
    # it is always the same ISO/escaped text, which a generated column needs to know.
    op.execute(
        """
        CREATE FUNCTION playlists.json_text(value text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_json(value)::text $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION playlists.json_utc(value timestamptz) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT rtrim(to_json(value AT TIME ZONE 'UTC')::text, '"') || 'Z"' $$
        """
    )
    op.add_column(
        "items",
        sa.Column("shown_json", sa.Text(), sa.Computed(ITEM_JSON, persisted=True), nullable=True),
        schema="playlists",
    )


def downgrade() -> None:
    op.drop_column("items", "shown_json", schema="playlists")
    op.execute("DROP FUNCTION playlists.json_utc(timestamptz)")
    op.execute("DROP FUNCTION playlists.json_text(text)")
