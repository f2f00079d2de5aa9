"""Events published by the ingestion context (version 1) that other contexts consume.

``ingestion.listens.recorded``: plays (listens) ingestion stored, in batches. One event per
stored batch (an import chunk, a scrobble submission); ``batch_id`` identifies the batch
for good, so a consumer that sees the same batch twice (a replay, a re-publication under a
new event id) counts it once. Only listens ingestion *newly* stored belong in the event: a
re-imported listen that was already there is not a new play.

The catalog sums them into global play counts per track (popularity).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from medley_contracts.envelope import EventType

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
