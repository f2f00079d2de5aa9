"""``/api/v1/me/plays``: the caller's plays of many tracks at once (the gateway's composed
reads ask here once per answer, never once per track)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from medley_core.auth import require_user
from medley_core.params import parse_id
from medley_ingestion import track_plays
from medley_ingestion.api.answers import Answer, answer
from medley_ingestion.api.deps import Caller, Session

MAX_TRACKS = 1000


class TrackIds(msgspec.Struct, forbid_unknown_fields=True):
    track_ids: Annotated[
        list[uuid.UUID], msgspec.Meta(max_length=MAX_TRACKS, description="up to 1,000")
    ]


class TrackPlays(Answer):
    track_id: uuid.UUID
    play_count: int
    ms_played: int
    last_played_at: datetime | None


class TrackPlaysAnswer(Answer):
    items: Annotated[list[TrackPlays], msgspec.Meta(description="one per id asked, in order")]


class ArtistTrack(Answer):
    track_id: uuid.UUID
    title: str
    artist_names: str
    album_id: uuid.UUID | None
    album_title: str | None
    play_count: int
    ms_played: int


class ArtistTracksAnswer(Answer):
    artist_id: uuid.UUID
    items: Annotated[list[ArtistTrack], msgspec.Meta(description="most played first")]


class PlaysController(Controller):
    path = "/api/v1/me/plays"
    tags = ["listens"]
    guards = [require_user()]

    @post("/batch", status_code=HTTP_200_OK, summary="My play count and last play of tracks")
    async def batch(
        self, data: JSONBody[TrackIds], read_session: Session, principal: Caller
    ) -> TrackPlaysAnswer:
        # A read (a POST for its body of ids): one statement, no transaction around it
        # (BEGIN, COMMIT and their round trips were a quarter of this call's CPU).
        found = await track_plays.plays_of_tracks(read_session, principal.user_id, data.track_ids)
        return answer({"items": found}, TrackPlaysAnswer)

    @get("/top-tracks", summary="My most played tracks of an artist (credited first)")
    async def top_tracks(
        self,
        db_session: Session,
        principal: Caller,
        artist_id: Annotated[str, QueryParameter(max_length=64, description="a UUID")],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
    ) -> ArtistTracksAnswer:
        artist = parse_id(artist_id, "artist_id")
        found = await track_plays.top_tracks_of_artist(
            db_session, principal.user_id, artist, limit=limit
        )
        return answer({"artist_id": artist, "items": found}, ArtistTracksAnswer)
