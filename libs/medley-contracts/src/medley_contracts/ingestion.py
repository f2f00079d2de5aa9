"""Events published by the ingestion context (version 1).

``ingestion.listens.recorded``: plays (listens) ingestion stored, in batches. One event per
stored batch (an import chunk, a scrobble submission); ``batch_id`` identifies the batch
for good, so a consumer that sees the same batch twice (a replay, a re-publication under a
new event id) counts it once. Only listens ingestion *newly* stored belong in the event: a
re-imported listen that was already there is not a new play.

The catalog sums them into global play counts per track (popularity).

``ingestion.import.started|completed|failed``: an import job's life, with its counts.
``ingestion.likes.changed``: likes added or removed, in batches (an import chunk, one
request). ``ingestion.user_data.erased``: ingestion's answer to ``users.user.deleted``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medley_contracts.envelope import EventType
from medley_contracts.users import user_data_erased

MAX_LISTENS_PER_EVENT = 5_000


class ListenV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    track_id: uuid.UUID = Field(description="the catalog track that was played")
    listened_at: datetime


class ListensRecordedV1(BaseModel):
    """A batch of newly stored listens of one user (subject: the batch id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    batch_id: uuid.UUID = Field(description="idempotency key of the batch")
    user_id: uuid.UUID
    recorded_at: datetime
    listens: list[ListenV1] = Field(max_length=MAX_LISTENS_PER_EVENT)

    def plays_per_track(self) -> Counter[uuid.UUID]:
        """How many plays each track gained in this batch."""
        return Counter(listen.track_id for listen in self.listens)


LISTENS_RECORDED = EventType("ingestion.listens.recorded", 1, ListensRecordedV1)


class ImportCountsV1(BaseModel):
    """What an import job did so far."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    bytes_read: int = 0
    records_read: int = 0
    listens_imported: int = 0
    likes_imported: int = 0
    duplicates_skipped: int = 0
    too_short_skipped: int = 0
    incognito_skipped: int = 0
    not_music_skipped: int = 0
    unmatched: int = 0
    rejected: int = 0


class ImportStartedV1(BaseModel):
    """A worker began (or resumed) an import job (subject: the job id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    job_id: uuid.UUID
    user_id: uuid.UUID
    filename: str
    attempt: int
    started_at: datetime


class ImportFinishedV1(BaseModel):
    """An import job ended: ``completed`` with its counts, or ``failed`` with the reason
    and where (entry and position) it was found (subject: the job id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    job_id: uuid.UUID
    user_id: uuid.UUID
    status: Literal["completed", "failed"]
    format: str | None
    counts: ImportCountsV1
    error: str | None = None
    error_position: str | None = None
    finished_at: datetime


MAX_LIKES_PER_EVENT = 5_000


class LikeChangeV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    track_id: uuid.UUID
    source: str
    liked: bool = Field(description="true: (re)liked or hated (see score); false: removed")
    score: int = Field(default=1, description="1 love, -1 hate (ListenBrainz feedback)")
    at: datetime


class LikesChangedV1(BaseModel):
    """Likes of one user that changed together (subject: the batch id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    batch_id: uuid.UUID
    user_id: uuid.UUID
    changes: list[LikeChangeV1] = Field(max_length=MAX_LIKES_PER_EVENT)


IMPORT_STARTED = EventType("ingestion.import.started", 1, ImportStartedV1)
IMPORT_COMPLETED = EventType("ingestion.import.completed", 1, ImportFinishedV1)
IMPORT_FAILED = EventType("ingestion.import.failed", 1, ImportFinishedV1)
LIKES_CHANGED = EventType("ingestion.likes.changed", 1, LikesChangedV1)
# The erasure saga's answer to users.user.deleted.
USER_DATA_ERASED = user_data_erased("ingestion")
