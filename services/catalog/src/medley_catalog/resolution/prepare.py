"""What a source sends (:class:`Candidate`) and its normal form (:class:`Prepared`).

Pure: no database. Every later step reads the prepared form only; a candidate that cannot
be resolved as given is refused here with its index (:class:`CandidateError`), before
anything is staged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from medley_catalog.models import ALBUM_TYPES as _ALBUM_TYPES
from medley_catalog.normalize import (
    Credit,
    artist_names,
    normalize_artist,
    normalize_external_id,
    normalize_text,
    parse_artist_credits,
    parse_title,
    primary_alternative,
    version_tags,
)

ALBUM_TYPES = frozenset(_ALBUM_TYPES)


class CandidateError(ValueError):
    """A candidate that cannot be resolved as given (the whole batch is refused)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"candidate {index}: {message}")
        self.index = index
        self.message = message


@dataclass(frozen=True)
class CreditInput:
    name: str
    join_phrase: str = ""


@dataclass(frozen=True)
class Candidate:
    """What a source knows about a track. ``artists`` (ordered credits) wins over the
    plain ``artist`` string when both are given."""

    title: str
    artist: str | None = None
    artists: Sequence[CreditInput] = ()
    album: str | None = None
    album_artist: str | None = None
    album_year: int | None = None
    album_type: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    mbid: str | None = None
    spotify_id: str | None = None
    disc_number: int | None = None
    track_number: int | None = None
    explicit: bool | None = None


@dataclass
class Prepared:
    """One candidate in normal form: the keys every stage matches on."""

    index: int
    candidate: Candidate
    credits: list[Credit]
    title_norm: str
    title_variant: str
    title_search: str
    tags: frozenset[str]
    primary_norm: str
    primary_alt: str | None
    artist_search: str
    album_norm: str | None
    album_search: str | None
    album_credits: list[Credit]
    isrc: str | None
    mbid: str | None
    spotify: str | None
    printed: str = ""  # the credits as printed ("A feat. B")
    external_keys: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        keys = [("mbid", self.mbid), ("spotify", self.spotify), ("isrc", self.isrc)]
        self.external_keys = [(ns, v) for ns, v in keys if v]


def merge_featured(credits: list[Credit], featured: Sequence[str]) -> list[Credit]:
    """Credits plus artists a title features ("Song (feat. B)") that they do not name."""
    known = {normalize_artist(c.name) for c in credits}
    extra = [f for f in featured if normalize_artist(f) not in known]
    if not extra:
        return credits
    result = list(credits)
    last = result[-1]
    result[-1] = Credit(last.name, last.join_phrase or " feat. ")
    for i, name in enumerate(extra):
        result.append(Credit(name, "" if i == len(extra) - 1 else " & "))
    return result


def _credits(index: int, candidate: Candidate) -> list[Credit]:
    """The candidate's ordered credits: structured ones as given, else the plain string
    parsed; :class:`CandidateError` when there are none."""
    if candidate.artists:
        credits = [
            Credit(c.name.strip(), c.join_phrase) for c in candidate.artists if c.name.strip()
        ]
        if credits:
            credits[-1] = Credit(credits[-1].name, "")
    elif candidate.artist and candidate.artist.strip():
        credits = parse_artist_credits(candidate.artist)
    else:
        credits = []
    if not credits:
        raise CandidateError(index, "an artist (or artist credits) is required")
    return credits


def _external_ids(index: int, candidate: Candidate) -> dict[str, str | None]:
    """The candidate's ISRC, MBID and Spotify id in canonical form (None when absent)."""
    ids: dict[str, str | None] = {}
    for namespace, value in (
        ("isrc", candidate.isrc),
        ("mbid", candidate.mbid),
        ("spotify", candidate.spotify_id),
    ):
        try:
            ids[namespace] = normalize_external_id(namespace, value) if value else None
        except ValueError as exc:
            raise CandidateError(index, str(exc)) from None
    return ids


def prepare(index: int, candidate: Candidate) -> Prepared:
    """Normalise one candidate; :class:`CandidateError` when it is unusable."""
    if not candidate.title or not candidate.title.strip():
        raise CandidateError(index, "a title is required")
    credits = _credits(index, candidate)
    if candidate.duration_ms is not None and candidate.duration_ms <= 0:
        raise CandidateError(index, "duration_ms must be positive")
    if candidate.album_type is not None and candidate.album_type not in ALBUM_TYPES:
        raise CandidateError(index, f"album_type must be one of {sorted(ALBUM_TYPES)}")
    ids = _external_ids(index, candidate)
    title = parse_title(candidate.title)
    if not title.norm:
        raise CandidateError(index, "the title has no letters or digits")
    credits = merge_featured(credits, title.featured)
    primary_norm = normalize_artist(credits[0].name)
    if not primary_norm:
        raise CandidateError(index, "the artist name has no letters or digits")
    album_norm = album_search = None
    album_credits: list[Credit] = []
    if candidate.album and candidate.album.strip():
        album_norm = parse_title(candidate.album).norm or None
        album_search = normalize_text(candidate.album)
        if candidate.album_artist and candidate.album_artist.strip():
            album_credits = parse_artist_credits(candidate.album_artist)
        else:
            album_credits = [Credit(credits[0].name)]
    alt = primary_alternative(credits[0].name) if not candidate.artists else None
    printed = artist_names(credits)
    return Prepared(
        index=index,
        candidate=candidate,
        credits=credits,
        title_norm=title.norm,
        title_variant=title.variant,
        title_search=normalize_text(candidate.title),
        tags=version_tags(title.norm),
        primary_norm=primary_norm,
        primary_alt=alt if alt and alt != primary_norm else None,
        artist_search=normalize_text(printed),
        album_norm=album_norm,
        album_search=album_search,
        album_credits=album_credits,
        isrc=ids["isrc"],
        mbid=ids["mbid"],
        spotify=ids["spotify"],
        printed=printed,
    )
