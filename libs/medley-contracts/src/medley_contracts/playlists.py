"""Events published by the playlists context (version 1).

``playlists.playlist.created`` and ``.updated`` carry the playlist's state without its items:
a change to the items is an ``updated`` carrying the new ``snapshot_id`` (and the new count
and duration), so a consumer that cares about the items reads them at that snapshot.
``.deleted`` says the playlist went to the owner's trash (``erased`` when it is gone for
good, with its owner's account). The subject of every event is the playlist id.

``playlists.user_data.erased`` answers ``users.user.deleted`` once the user's playlists,
smart playlists, collections and collaborations are gone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medley_contracts.envelope import EventType
from medley_contracts.users import user_data_erased

Visibility = Literal["private", "unlisted", "public"]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PlaylistV1(_Payload):
    """A playlist's state (``playlists.playlist.created`` / ``.updated``), items excluded."""

    playlist_id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str | None = None
    visibility: Visibility
    collaborative: bool
    snapshot_id: str = Field(description="changes with every change to the playlist")
    track_count: int = Field(ge=0)
    duration_ms: int = Field(ge=0)
    updated_at: datetime


class PlaylistDeletedV1(_Payload):
    """A playlist was deleted: ``erased`` false when it is in its owner's trash (it may come
    back with a ``created``-shaped ``updated``), true when it is gone for good."""

    playlist_id: uuid.UUID
    owner_id: uuid.UUID
    deleted_at: datetime
    erased: bool = False


PLAYLIST_CREATED = EventType("playlists.playlist.created", 1, PlaylistV1)
PLAYLIST_UPDATED = EventType("playlists.playlist.updated", 1, PlaylistV1)
PLAYLIST_DELETED = EventType("playlists.playlist.deleted", 1, PlaylistDeletedV1)

# The playlists context's answer to users.user.deleted.
USER_DATA_ERASED = user_data_erased("playlists")
