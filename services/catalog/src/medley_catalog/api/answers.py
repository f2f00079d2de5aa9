"""What the catalog's HTTP API answers: one msgspec Struct per shape, so each route's
OpenAPI document shows it (and the gateway can compose from it).

The read modules answer rows (dicts straight from asyncpg, set-based); a controller converts
them into these with :func:`msgspec.convert`, which drops what a shape does not show and
checks the rest. Three shapes per entity, each the one before plus more:

* ``…Row``: a list item (its own columns; artists with their counts);
* ``…Out``: a batch item (with credits, external ids, genres);
* ``…Detail``: one entity (with images and descriptions, an album's tracks, and
  ``redirected_from`` when a merged id was asked for).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

from medley_core.pagination import Page

T = TypeVar("T")


class Answer(msgspec.Struct, kw_only=True):
    pass


# --- the details every entity carries --------------------------------------------------------


class Credit(Answer):
    position: int
    artist_id: uuid.UUID
    name: Annotated[str, msgspec.Meta(description="the artist's name as credited here")]
    join_phrase: str


class ExternalId(Answer):
    namespace: str
    value: str


class GenreTag(Answer):
    id: uuid.UUID
    name: str
    slug: str


class Image(Answer):
    id: uuid.UUID
    url: str
    kind: str
    width: int | None
    height: int | None
    source: str | None


class Description(Answer):
    id: uuid.UUID
    text: str
    source: str
    language: str
    updated_at: datetime


class _Timestamps(Answer):
    source: str | None
    created_at: datetime
    updated_at: datetime


MergedFrom = Annotated[
    uuid.UUID | None,
    msgspec.Meta(description="the id asked for, when it was merged into this one"),
]


# --- tracks ---------------------------------------------------------------------------------


class AlbumOfTrack(Answer):
    id: uuid.UUID
    title: str
    album_type: str
    release_year: int | None
    cover_url: str | None
    artist_names: str


class TrackRow(_Timestamps):
    id: uuid.UUID
    title: str
    artist_names: str
    primary_artist_id: uuid.UUID | None
    album_id: uuid.UUID | None
    disc_number: int | None
    track_number: int | None
    duration_ms: int | None
    explicit: bool
    play_count: int


class TrackOut(TrackRow):
    album: AlbumOfTrack | None
    credits: list[Credit]
    external_ids: list[ExternalId]
    genres: list[GenreTag]


class TrackDetail(TrackOut, omit_defaults=True):
    images: list[Image]
    descriptions: list[Description]
    redirected_from: MergedFrom = None


# --- albums ---------------------------------------------------------------------------------


class AlbumRow(_Timestamps):
    id: uuid.UUID
    title: str
    album_type: str
    release_date: date | None
    release_year: int | None
    total_tracks: int | None
    cover_url: str | None
    artist_names: str
    primary_artist_id: uuid.UUID | None


class AlbumOut(AlbumRow):
    track_count: int
    credits: list[Credit]
    external_ids: list[ExternalId]
    genres: list[GenreTag]


class TrackOfAlbum(Answer):
    id: uuid.UUID
    title: str
    artist_names: str
    disc_number: int | None
    track_number: int | None
    duration_ms: int | None
    explicit: bool
    play_count: int


class AlbumDetail(AlbumOut, omit_defaults=True):
    images: list[Image]
    descriptions: list[Description]
    tracks: Annotated[list[TrackOfAlbum], msgspec.Meta(description="in disc and track order")]
    redirected_from: MergedFrom = None


# --- artists --------------------------------------------------------------------------------


class ArtistRow(_Timestamps):
    id: uuid.UUID
    name: str
    sort_name: str
    track_count: Annotated[int, msgspec.Meta(description="live tracks crediting the artist")]
    album_count: Annotated[int, msgspec.Meta(description="live albums crediting the artist")]


class ArtistOut(ArtistRow):
    external_ids: list[ExternalId]
    genres: list[GenreTag]


class ArtistDetail(ArtistOut, omit_defaults=True):
    images: list[Image]
    descriptions: list[Description]
    redirected_from: MergedFrom = None


# --- what every entity route answers, by entity ------------------------------------------------


class Batch(Answer, Generic[T]):
    items: Annotated[list[T], msgspec.Meta(description="the entities found, in request order")]
    redirects: Annotated[
        dict[str, uuid.UUID], msgspec.Meta(description="each merged id asked for → its survivor")
    ]
    missing: Annotated[list[uuid.UUID], msgspec.Meta(description="ids that designate nothing")]


class Merged(Answer, Generic[T]):
    from_id: uuid.UUID = msgspec.field(name="from")
    into: uuid.UUID
    merged_at: datetime
    survivor: T


@dataclass(frozen=True)
class EntityAnswers:
    """An entity's answer types, and what the names the shared entity controller's handlers
    are annotated with (``EntityDetail``…) stand for in its controller (Litestar's
    ``signature_namespace``), so every route documents the shape it answers."""

    detail: type[Any]
    batch_item: type[Any]

    def signature_namespace(self) -> dict[str, Any]:
        return {
            "EntityDetail": self.detail,
            "EntityBatch": Batch[self.batch_item],  # type: ignore[name-defined]
            "EntityMerged": Merged[self.detail],  # type: ignore[name-defined]
        }


TRACK_ANSWERS = EntityAnswers(TrackDetail, TrackOut)
ALBUM_ANSWERS = EntityAnswers(AlbumDetail, AlbumOut)
ARTIST_ANSWERS = EntityAnswers(ArtistDetail, ArtistOut)

# What mypy sees for those names; at run time each controller's namespace narrows them.
EntityDetail = TrackDetail | AlbumDetail | ArtistDetail
EntityBatch = Batch[TrackOut | AlbumOut | ArtistOut]
EntityMerged = Merged[EntityDetail]


# --- genres, search, resolution ---------------------------------------------------------------


class GenreRow(GenreTag):
    track_count: int
    album_count: int
    artist_count: int


class AlbumOfHit(Answer):
    id: uuid.UUID
    title: str
    release_year: int | None


class _Hit(Answer):
    id: uuid.UUID
    name: Annotated[str, msgspec.Meta(description="the title, or the artist's name")]
    score: Annotated[float, msgspec.Meta(description="relevance, higher first")]


class TrackHit(_Hit, tag_field="type", tag="track"):
    artist_names: str
    album: AlbumOfHit | None
    duration_ms: int | None


class AlbumHit(_Hit, tag_field="type", tag="album"):
    artist_names: str
    release_year: int | None
    album_type: str


class ArtistHit(_Hit, tag_field="type", tag="artist"):
    pass


SearchHit = TrackHit | AlbumHit | ArtistHit


class SearchResults(Page[SearchHit], kw_only=True):
    items: list[SearchHit]
    facets: Annotated[
        dict[str, int] | None,
        msgspec.Meta(description="matches per type (capped), on the first page only"),
    ]
    interpretation: Annotated[
        dict[str, list[str]],
        msgspec.Meta(description="each query word and the known words it was widened to"),
    ]
    mode: Annotated[
        Literal["all", "fuzzy", "any"],
        msgspec.Meta(description="how the query was read: every word, widened, or any word"),
    ]


class Resolved(Answer):
    index: int
    track_id: uuid.UUID
    album_id: uuid.UUID | None
    created: bool
    method: Literal["external_id", "exact", "fuzzy", "created"]
    confidence: int


class Resolutions(Answer):
    results: Annotated[
        list[Resolved],
        msgspec.Meta(
            description="one per candidate, in order (with `create: false`, only those the "
            "catalog knows)"
        ),
    ]
    methods: Annotated[
        dict[str, int],
        msgspec.Meta(description="how many each method resolved (and `unmatched`)"),
    ]


# --- the export a projection backfills from --------------------------------------------------


class ExportedTrack(Answer):
    id: uuid.UUID
    title: str
    artist_names: str
    primary_artist_id: uuid.UUID | None
    album_id: uuid.UUID | None
    album_title: str | None
    album_year: int | None
    genres: Annotated[list[str], msgspec.Meta(description="genre names, ordered by slug")]
    duration_ms: int | None
    status: Literal["active", "deleted", "merged"]
    merged_into: uuid.UUID | None
    created_at: datetime | None
    updated_at: datetime | None


class ExportPage(Answer):
    items: list[ExportedTrack]
    next_cursor: Annotated[
        str | None, msgspec.Meta(description="`after` for the next page; null after the last")
    ]
