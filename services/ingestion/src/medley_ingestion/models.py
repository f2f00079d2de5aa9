"""Ingestion's tables, all in PostgreSQL schema ``ingestion`` (and in no other metadata).

What the database keeps itself:

* an import job's state is one of five, its counters never negative;
* a connector track once per (source, source key), its confidence 0-100;
* a play once per (user, catalog track, start time): re-importing a file, or an export that
  overlaps an earlier one, adds nothing;
* a like once per (user, track, source); one sync checkpoint per (user, source, entity);
* the listening rollups (per user and track, per user and hour) that answer stats without
  scanning every play.

Tables the bulk paths fill are written with COPY and set-based SQL
(:mod:`medley_ingestion.plays`); the ORM is for single rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from medley_core.db import one_of, schema_metadata
from medley_core.events.tables import event_tables
from medley_core.ids import new_id
from medley_core.models import counter, text_column, timestamp, uuid_fk

SCHEMA = "ingestion"

JOB_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
FORMATS = (
    "spotify_extended",
    "spotify_account",
    "lastfm_csv",
    "listenbrainz",
)
# Where a play or like came from: an export's service, or a scrobbling client.
SOURCES = ("spotify", "lastfm", "listenbrainz", "scrobble")
# The counters of a job, in the order the API lists them.
JOB_COUNTERS = (
    "bytes_read",
    "records_read",
    "listens_imported",
    "likes_imported",
    "duplicates_skipped",
    "too_short_skipped",
    "incognito_skipped",
    "not_music_skipped",
    "unmatched",
    "rejected",
)


class IngestionModel(SQLModel):
    """Base of every ingestion table: its own metadata, schema ``ingestion``."""

    metadata = schema_metadata(SCHEMA)


def _uuid(*, primary_key: bool = False, nullable: bool = False) -> Any:
    return Field(
        default_factory=new_id if primary_key else None,
        sa_column=Column(PG_UUID(as_uuid=True), primary_key=primary_key, nullable=nullable),
    )


def _fk(target: str, *, nullable: bool = False, ondelete: str | None = None) -> Any:
    return Field(
        default=None, sa_column=uuid_fk(f"{SCHEMA}.{target}", nullable=nullable, ondelete=ondelete)
    )


# medley_core's columns, with ingestion's defaults (text may be NULL, counts are bigint).
_time = timestamp


def _text(*, nullable: bool = True) -> Any:
    return text_column(nullable=nullable)


def _count() -> Any:
    return counter(big=True)


class ImportJob(IngestionModel, table=True):
    """One upload and what importing it did: ``queued → running → completed | failed |
    cancelled``. A worker's position (``checkpoint``) and the counters advance in the
    transaction that stores the records they count, so a resumed job counts exactly."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(one_of("status", JOB_STATUSES), name="status_known"),
        CheckConstraint(
            f"requested_format IS NULL OR {one_of('requested_format', FORMATS)}",
            name="requested_format_known",
        ),
        *(CheckConstraint(f"{c} >= 0", name=f"{c}_not_negative") for c in JOB_COUNTERS),
        # Mine, newest first (keyset pages).
        Index("ix_import_jobs_user_id_id", "user_id", "id"),
        # What workers claim: a tiny index of the unfinished jobs.
        Index(
            "ix_import_jobs_unfinished",
            "id",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: uuid.UUID = _uuid(primary_key=True)
    user_id: uuid.UUID = _uuid()
    status: str = Field(
        default="queued",
        sa_column=Column(Text, nullable=False, server_default=text("'queued'")),
    )
    requested_format: str | None = _text()
    detected_format: str | None = _text()
    filename: str = Field(sa_column=Column(Text, nullable=False))
    # Relative to the uploads directory; null once the upload was deleted.
    upload_path: str | None = _text()
    upload_bytes: int = _count()
    bytes_read: int = _count()
    records_read: int = _count()
    listens_imported: int = _count()
    likes_imported: int = _count()
    duplicates_skipped: int = _count()
    too_short_skipped: int = _count()
    incognito_skipped: int = _count()
    not_music_skipped: int = _count()
    unmatched: int = _count()
    rejected: int = _count()
    # {"entry": n, "record": n}: the first record not yet stored.
    checkpoint: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    error: str | None = _text()
    error_position: str | None = _text()
    attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    worker: str | None = _text()
    cancel_requested_at: datetime | None = _time()
    created_at: datetime | None = _time(nullable=False, now=True)
    updated_at: datetime | None = _time(nullable=False, now=True)
    started_at: datetime | None = _time()
    finished_at: datetime | None = _time()


class ImportRejection(IngestionModel, table=True):
    """A record a job could not take: where it was and why (the first N of each job)."""

    __tablename__ = "import_rejections"

    job_id: uuid.UUID = Field(
        sa_column=uuid_fk(f"{SCHEMA}.import_jobs.id", ondelete="CASCADE", primary_key=True)
    )
    seq: int = Field(sa_column=Column(Integer, primary_key=True))
    entry: str = Field(sa_column=Column(Text, nullable=False))
    position: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))


class ConnectorTrack(IngestionModel, table=True):
    """A track as one source knows it, stored once per source, and the catalog track it
    resolved to (with the catalog's method and confidence). ``refused`` says why the
    catalog would not take it; its listens are counted as unmatched."""

    __tablename__ = "connector_tracks"
    __table_args__ = (
        UniqueConstraint("source", "source_key"),
        CheckConstraint(one_of("source", SOURCES), name="source_known"),
        CheckConstraint("confidence BETWEEN 0 AND 100", name="confidence_range"),
        CheckConstraint("duration_ms IS NULL OR duration_ms > 0", name="duration_positive"),
        Index("ix_connector_tracks_track_id", "track_id"),
        # Feedback names recordings by MBID or MessyBrainz id.
        Index(
            "ix_connector_tracks_recording_mbid",
            "recording_mbid",
            postgresql_where=text("recording_mbid IS NOT NULL"),
        ),
        Index(
            "ix_connector_tracks_recording_msid",
            "recording_msid",
            postgresql_where=text("recording_msid IS NOT NULL"),
        ),
    )

    id: uuid.UUID = _uuid(primary_key=True)
    source: str = Field(sa_column=Column(Text, nullable=False))
    source_key: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    artist: str = Field(sa_column=Column(Text, nullable=False))
    album: str | None = _text()
    album_artist: str | None = _text()
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    spotify_id: str | None = _text()
    isrc: str | None = _text()
    recording_mbid: str | None = _text()
    # ListenBrainz's MessyBrainz id of the recording (feedback may name it alone).
    recording_msid: str | None = _text()
    # What the source said beyond the columns (ListenBrainz additional_info…).
    extra: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    track_id: uuid.UUID | None = _uuid(nullable=True)
    method: str | None = _text()
    confidence: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    refused: str | None = _text()
    resolved_at: datetime | None = _time()
    created_at: datetime | None = _time(nullable=False, now=True)


class Play(IngestionModel, table=True):
    """One listen: who heard which catalog track, from when (UTC, playback start)."""

    __tablename__ = "plays"
    __table_args__ = (
        # Re-imports and overlapping exports add nothing (and the 90 s rule's index).
        UniqueConstraint("user_id", "track_id", "listened_at"),
        CheckConstraint(one_of("source", SOURCES), name="source_known"),
        CheckConstraint("ms_played IS NULL OR ms_played >= 0", name="ms_played_not_negative"),
        # Mine, newest first (keyset pages, ListenBrainz's listens); it covers what stats
        # over a range read (an index-only scan of the range's plays).
        Index(
            "ix_plays_user_id_listened_at",
            "user_id",
            "listened_at",
            "id",
            postgresql_include=["track_id", "ms_played"],
        ),
        # No foreign keys and no other index: each is paid on every imported row. Merges
        # find a track's plays through user_track_totals and the unique key.
    )

    id: uuid.UUID = _uuid(primary_key=True)
    user_id: uuid.UUID = _uuid()
    track_id: uuid.UUID = _uuid()
    listened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ms_played: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    source: str = Field(sa_column=Column(Text, nullable=False))
    # The import it came from (kept when the job is deleted: the listens stay).
    import_job_id: uuid.UUID | None = _uuid(nullable=True)
    # The submitting client (ListenBrainz's submission_client / listening_from).
    client: str | None = _text()
    connector_track_id: uuid.UUID = _uuid()
    inserted_at: datetime | None = _time(nullable=False, now=True)


class Like(IngestionModel, table=True):
    """A loved track (ListenBrainz feedback score 1, Spotify's saved tracks…) per source."""

    __tablename__ = "likes"
    __table_args__ = (
        UniqueConstraint("user_id", "track_id", "source"),
        CheckConstraint(one_of("source", SOURCES), name="source_known"),
        CheckConstraint("score IN (-1, 1)", name="score_love_or_hate"),
        Index("ix_likes_user_id_liked_at", "user_id", "liked_at", "id"),
    )

    id: uuid.UUID = _uuid(primary_key=True)
    user_id: uuid.UUID = _uuid()
    track_id: uuid.UUID = _uuid()
    source: str = Field(sa_column=Column(Text, nullable=False))
    # 1 loved, -1 hated (ListenBrainz's feedback); Medley's own likes are 1.
    score: int = Field(
        default=1, sa_column=Column(SmallInteger, nullable=False, server_default=text("1"))
    )
    liked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    connector_track_id: uuid.UUID | None = _fk(
        "connector_tracks.id", nullable=True, ondelete="SET NULL"
    )


class SyncCheckpoint(IngestionModel, table=True):
    """How far a user's history from one source has been taken in, per kind of entity."""

    __tablename__ = "sync_checkpoints"

    user_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    source: str = Field(sa_column=Column(Text, primary_key=True))
    entity_type: str = Field(sa_column=Column(Text, primary_key=True))
    # The newest record taken in (its time), and the source's own cursor if it has one.
    position_at: datetime | None = _time()
    cursor: str | None = _text()
    updated_at: datetime | None = _time(nullable=False, now=True)


class Track(IngestionModel, table=True):
    """The catalog's tracks as ingestion needs them (titles, credits, album), fed by
    ``catalog.track.*`` events and, until the first event comes, by what resolution said
    (``provisional``). Deleted tracks stay (their plays are shown as unavailable); merged
    ones name their survivor."""

    __tablename__ = "tracks"
    __table_args__ = (
        CheckConstraint("duration_ms IS NULL OR duration_ms > 0", name="duration_positive"),
    )

    track_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    artist_names: str = Field(sa_column=Column(Text, nullable=False))
    # The first credited artist: what "top artists" groups by.
    artist_id: uuid.UUID | None = _uuid(nullable=True)
    artist_name: str = Field(sa_column=Column(Text, nullable=False))
    credits: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    album_id: uuid.UUID | None = _uuid(nullable=True)
    album_title: str | None = _text()
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    provisional: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=text("false")),
    )
    merged_into: uuid.UUID | None = _uuid(nullable=True)
    deleted_at: datetime | None = _time()
    updated_at: datetime | None = _time()


class UserTrackTotal(IngestionModel, table=True):
    """Each user's plays of each track, all time (kept with every write to the plays)."""

    __tablename__ = "user_track_totals"
    # A merged track's listeners (merges reach its plays through them and the unique key).
    __table_args__ = (Index("ix_user_track_totals_track_id", "track_id"),)

    user_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    track_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    plays: int = Field(sa_column=Column(BigInteger, nullable=False))
    ms_played: int = Field(sa_column=Column(BigInteger, nullable=False))


class UserHour(IngestionModel, table=True):
    """Each user's plays per UTC hour: listening activity by day, hour and weekday."""

    __tablename__ = "user_hours"

    user_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    hour: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    plays: int = Field(sa_column=Column(BigInteger, nullable=False))
    ms_played: int = Field(sa_column=Column(BigInteger, nullable=False))


class Listener(IngestionModel, table=True):
    """A user's public name (``users.user.registered``): ListenBrainz's routes name users."""

    __tablename__ = "listeners"
    __table_args__ = (UniqueConstraint("username"),)

    user_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    username: str = Field(sa_column=Column(Text, nullable=False))


class PlayingNow(IngestionModel, table=True):
    """What a scrobbling client said is playing, until it ends."""

    __tablename__ = "playing_now"

    user_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    track_metadata: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


EVENT_TABLES = event_tables(IngestionModel.metadata)
