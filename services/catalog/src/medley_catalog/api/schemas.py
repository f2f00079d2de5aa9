"""Request bodies of the catalog's HTTP API (validated: a bad field is a 422 naming it)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    model_validator,
)

from medley_catalog import artists, editing, external_ids, resolution
from medley_catalog.normalize import normalize_external_id
from medley_core.bodies import PatchBody, RequestBody
from medley_core.params import storable

MAX_INT = 2_147_483_647


def _storable(value: str) -> str:
    if not storable(value):
        raise ValueError("text must not contain NUL characters or lone surrogates")
    return value


Text = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_storable)]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_storable)
]
Namespace = Literal["isrc", "mbid", "spotify", "discogs", "lastfm", "local"]
AlbumType = Literal["album", "single", "ep", "compilation"]
Duration = Annotated[int, Field(gt=0, le=MAX_INT)]
Position = Annotated[int, Field(gt=0, le=32767)]
Year = Annotated[int, Field(ge=1, le=9999)]


_Body = RequestBody


class ExternalIdIn(_Body):
    namespace: Namespace
    value: ShortText

    @model_validator(mode="after")
    def _well_formed(self) -> ExternalIdIn:
        normalize_external_id(self.namespace, self.value)  # ValueError → 422
        return self

    def spec(self) -> external_ids.ExternalIdSpec:
        return external_ids.ExternalIdSpec(self.namespace, self.value)


class CreditIn(_Body):
    """An artist credit: ``artist_id`` of an existing artist, or ``name`` (found or created
    by normalised name); ``name`` is also how the artist is credited here."""

    artist_id: uuid.UUID | None = None
    name: Text | None = None
    join_phrase: Annotated[str, StringConstraints(max_length=50), AfterValidator(_storable)] = ""

    @model_validator(mode="after")
    def _someone(self) -> CreditIn:
        if self.artist_id is None and self.name is None:
            raise ValueError("a credit needs an artist_id or a name")
        return self

    def spec(self) -> artists.CreditSpec:
        return artists.CreditSpec(self.artist_id, self.name, self.join_phrase)


Credits = Annotated[list[CreditIn], Field(min_length=1, max_length=50)]
ExternalIds = Annotated[list[ExternalIdIn], Field(max_length=100)]
Genres = Annotated[list[ShortText], Field(max_length=50)]


class ArtistIn(_Body):
    name: Text
    sort_name: Text | None = None
    external_ids: ExternalIds = []
    genres: Genres = []

    def fields(self) -> editing.ArtistFields:
        return editing.ArtistFields(
            self.name, self.sort_name, [e.spec() for e in self.external_ids], self.genres
        )


class AlbumIn(_Body):
    title: Text
    credits: Credits
    album_type: AlbumType = "album"
    release_date: date | None = None
    release_year: Year | None = None
    total_tracks: Position | None = None
    cover_url: Text | None = None
    external_ids: ExternalIds = []
    genres: Genres = []

    def fields(self) -> editing.AlbumFields:
        return editing.AlbumFields(
            title=self.title,
            credits=[c.spec() for c in self.credits],
            album_type=self.album_type,
            release_date=self.release_date,
            release_year=self.release_year,
            total_tracks=self.total_tracks,
            cover_url=self.cover_url,
            external_ids=[e.spec() for e in self.external_ids],
            genres=self.genres,
        )


class TrackIn(_Body):
    title: Text
    credits: Credits
    album_id: uuid.UUID | None = None
    disc_number: Position | None = None
    track_number: Position | None = None
    duration_ms: Duration | None = None
    explicit: bool = False
    external_ids: ExternalIds = []
    genres: Genres = []

    def fields(self) -> editing.TrackFields:
        return editing.TrackFields(
            title=self.title,
            credits=[c.spec() for c in self.credits],
            album_id=self.album_id,
            disc_number=self.disc_number,
            track_number=self.track_number,
            duration_ms=self.duration_ms,
            explicit=self.explicit,
            external_ids=[e.spec() for e in self.external_ids],
            genres=self.genres,
        )


class _Patch(PatchBody):
    def changes(self) -> editing.Changes:
        values: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "credits":
                value = [c.spec() for c in value]
            elif name == "external_ids":
                value = [e.spec() for e in value]
            values[name] = value
        return editing.Changes(values)


class ArtistPatch(_Patch):
    name: Text | None = None
    sort_name: Text | None = None
    external_ids: ExternalIds | None = None
    genres: Genres | None = None

    not_nullable = ("name", "sort_name", "external_ids", "genres")


class AlbumPatch(_Patch):
    title: Text | None = None
    credits: Credits | None = None
    album_type: AlbumType | None = None
    release_date: date | None = None
    release_year: Year | None = None
    total_tracks: Position | None = None
    cover_url: Text | None = None
    external_ids: ExternalIds | None = None
    genres: Genres | None = None

    not_nullable = ("title", "credits", "album_type", "external_ids", "genres")


class TrackPatch(_Patch):
    title: Text | None = None
    credits: Credits | None = None
    album_id: uuid.UUID | None = None
    disc_number: Position | None = None
    track_number: Position | None = None
    duration_ms: Duration | None = None
    explicit: bool | None = None
    external_ids: ExternalIds | None = None
    genres: Genres | None = None

    not_nullable = ("title", "credits", "explicit", "external_ids", "genres")


class GenresIn(_Body):
    genres: Genres


class GenreIn(_Body):
    name: ShortText


class ImageIn(_Body):
    url: Text
    kind: ShortText = "cover"
    width: Annotated[int, Field(gt=0, le=100_000)] | None = None
    height: Annotated[int, Field(gt=0, le=100_000)] | None = None
    source: ShortText | None = None


class DescriptionIn(_Body):
    text: Annotated[
        str, StringConstraints(min_length=1, max_length=20_000), AfterValidator(_storable)
    ]
    source: ShortText
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class MergeIn(_Body):
    into: uuid.UUID


class BatchIn(_Body):
    """Up to the service's ``batch_get_max`` ids (1,000 by default)."""

    ids: list[uuid.UUID]


# --- resolution ----------------------------------------------------------------------------


class CandidateCreditIn(_Body):
    name: Text
    join_phrase: Annotated[str, StringConstraints(max_length=50), AfterValidator(_storable)] = ""


class CandidateIn(_Body):
    """A track as a source knows it. Give ``artists`` (ordered credits) or ``artist`` (a plain
    string such as "A feat. B & C"); the ids are optional, and checked when given."""

    title: Text
    artist: Text | None = None
    artists: Annotated[list[CandidateCreditIn], Field(max_length=50)] = []
    album: Text | None = None
    album_artist: Text | None = None
    album_year: Year | None = None
    album_type: AlbumType | None = None
    duration_ms: Duration | None = None
    isrc: ShortText | None = None
    mbid: ShortText | None = None
    spotify_id: ShortText | None = None
    disc_number: Position | None = None
    track_number: Position | None = None
    explicit: bool | None = None

    @model_validator(mode="after")
    def _valid(self) -> CandidateIn:
        if not self.artists and not (self.artist and self.artist.strip()):
            raise ValueError("a candidate needs artist or artists")
        for namespace, value in (
            ("isrc", self.isrc),
            ("mbid", self.mbid),
            ("spotify", self.spotify_id),
        ):
            if value is not None:
                normalize_external_id(namespace, value)
        return self

    def candidate(self) -> resolution.Candidate:
        # The same fields, by name; only the credits change type.
        return resolution.Candidate(
            **self.model_dump(exclude={"artists"}),
            artists=tuple(resolution.CreditInput(a.name, a.join_phrase) for a in self.artists),
        )


class ResolveIn(_Body):
    """Up to ``resolve_max_candidates`` candidates (1,000 by default); ``source`` is recorded
    on what gets created (``spotify``, ``lastfm``…). ``create: false`` only matches: what the
    catalog does not know is left out of the results (a playlist import reports it
    unmatched rather than filling the catalog with a file's guesses)."""

    candidates: list[CandidateIn]
    source: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] | None = None
    create: bool = True
