"""Deciding what to create (stage 4), pure: no database.

Candidates still unknown after the matching stages are grouped into new tracks (the same
keys, or a shared external id), their albums are keyed (title, primary artist, year: a
candidate that does not know the year joins one that does), and the rows and events of the
new albums and tracks are built here; :mod:`.create` only looks up what exists and writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from medley_catalog.artists import NewArtist, ResolvedCredit, credit_payloads, credit_rows
from medley_catalog.external_ids import IdValue
from medley_catalog.normalize import (
    Credit,
    artist_names,
    normalize_artist,
    normalize_text,
    parse_title,
)
from medley_catalog.resolution.prepare import Prepared
from medley_contracts import catalog as contracts
from medley_core.events.unit_of_work import PendingEvent
from medley_core.ids import new_id

# An album as resolution knows it: (normalised title, primary artist, release year).
AlbumKey = tuple[str, uuid.UUID, int | None]
ArtistIds = Mapping[str, uuid.UUID]

ALBUM_COLUMNS = (
    "id",
    "title",
    "title_norm",
    "title_variant",
    "title_search",
    "album_type",
    "release_year",
    "artist_names",
    "artist_names_search",
    "primary_artist_id",
    "source",
)
TRACK_COLUMNS = (
    "id",
    "title",
    "title_norm",
    "title_variant",
    "title_search",
    "album_id",
    "album_title_search",
    "disc_number",
    "track_number",
    "duration_ms",
    "explicit",
    "artist_names",
    "artist_names_search",
    "primary_artist_id",
    "source",
)


@dataclass
class NewTrack:
    """Candidates describing one new track (the first one describes it best)."""

    id: uuid.UUID
    members: list[Prepared] = field(default_factory=list)

    @property
    def first(self) -> Prepared:
        return self.members[0]

    def pick(self, attribute: str) -> Any:
        """The first value a member's candidate gives for ``attribute`` (None if none)."""
        for p in self.members:
            value = getattr(p.candidate, attribute)
            if value is not None:
                return value
        return None


def group(pending: Sequence[Prepared], make_id: Callable[[], uuid.UUID] = new_id) -> list[NewTrack]:
    """Candidates describing the same new track: same keys, or sharing an external id.
    Groups come in the order of their first candidate."""
    parent: dict[int, int] = {p.index: p.index for p in pending}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    owner: dict[tuple[Any, ...], int] = {}
    loose: dict[tuple[str, str, str], int] = {}
    # Candidates naming an album first, so one without an album joins a track with one.
    for p in sorted(pending, key=lambda p: (p.album_norm is None, p.index)):
        base = (p.title_norm, p.title_variant, p.primary_norm)
        keys: list[tuple[Any, ...]] = [
            ("key", *base, p.album_norm or "", p.candidate.album_year or 0),
            *[("id", ns, v) for ns, v in p.external_keys],
        ]
        for key in keys:
            if key in owner:
                union(owner[key], p.index)
            else:
                owner[key] = p.index
        if p.album_norm is None and base in loose:
            union(loose[base], p.index)
        loose.setdefault(base, p.index)
    groups: dict[int, NewTrack] = {}
    for p in sorted(pending, key=lambda p: p.index):
        root = find(p.index)
        found = groups.get(root)
        if found is None:
            found = groups[root] = NewTrack(make_id())
        found.members.append(p)
    return list(groups.values())


def artist_names_needed(groups: Sequence[NewTrack]) -> dict[str, str]:
    """Every artist the new tracks and albums credit: normalised name → the first spelling."""
    names: dict[str, str] = {}
    for g in groups:
        for credit in [*g.first.credits, *g.first.album_credits]:
            names.setdefault(normalize_artist(credit.name), credit.name)
    return names


def resolved(credits: Sequence[Credit], artist_ids: ArtistIds) -> list[ResolvedCredit]:
    return [
        ResolvedCredit(artist_ids[normalize_artist(c.name)], c.name, c.join_phrase) for c in credits
    ]


@dataclass
class AlbumPlan:
    """The album of each new track that names one, and the group describing each album."""

    of_group: dict[uuid.UUID, AlbumKey]
    described_by: dict[AlbumKey, NewTrack]


def plan_albums(groups: Sequence[NewTrack], artist_ids: ArtistIds) -> AlbumPlan:
    """Key the albums of the new tracks. A candidate that does not know the year joins one
    that does (self-titled albums of different years stay apart; the same album named with
    and without its year does not)."""
    of_group: dict[uuid.UUID, AlbumKey] = {}
    years: dict[tuple[str, uuid.UUID], int] = {}
    for g in groups:
        p = g.first
        if p.album_norm is not None:
            primary = artist_ids[normalize_artist(p.album_credits[0].name)]
            year = g.pick("album_year")
            of_group[g.id] = (p.album_norm, primary, year)
            if year is not None:
                years.setdefault((p.album_norm, primary), year)
    described_by: dict[AlbumKey, NewTrack] = {}
    for g in groups:
        key = of_group.get(g.id)
        if key is None:
            continue
        if key[2] is None and (key[0], key[1]) in years:
            key = of_group[g.id] = (key[0], key[1], years[(key[0], key[1])])
        described_by.setdefault(key, g)
    return AlbumPlan(of_group, described_by)


def artist_events(created: Sequence[NewArtist], now: datetime) -> list[PendingEvent]:
    return [
        (
            contracts.ARTIST_CREATED,
            contracts.ArtistV1(artist_id=a.id, name=a.name, sort_name=a.sort_name, updated_at=now),
            str(a.id),
        )
        for a in created
    ]


@dataclass
class NewRows:
    """Rows to COPY and events to record for new albums or tracks."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    credit_rows: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)


def new_album(
    rows: NewRows,
    album_id: uuid.UUID,
    key: AlbumKey,
    described_by: NewTrack,
    artist_ids: ArtistIds,
    *,
    source: str | None,
    now: datetime,
) -> None:
    """Add the row, credits and event of a new album to ``rows``."""
    p = described_by.first
    title = p.candidate.album or ""
    parsed = parse_title(title)
    album_type = described_by.pick("album_type") or "album"
    printed = artist_names(p.album_credits)
    credits = resolved(p.album_credits, artist_ids)
    rows.rows.append(
        (
            album_id,
            p.candidate.album,
            parsed.norm,
            parsed.variant,
            p.album_search,
            album_type,
            key[2],
            printed,
            normalize_text(printed),
            key[1],
            source,
        )
    )
    rows.credit_rows.extend(credit_rows(album_id, credits))
    payload = contracts.AlbumV1(
        album_id=album_id,
        title=title,
        album_type=album_type,
        artist_names=printed,
        credits=credit_payloads(credits),
        release_year=key[2],
        updated_at=now,
    )
    rows.events.append((contracts.ALBUM_CREATED, payload, str(album_id)))


def track_ids(g: NewTrack) -> list[tuple[str, str]]:
    """The external ids the members of a new track carry, each once, in member order."""
    return list(dict.fromkeys(key for member in g.members for key in member.external_keys))


def new_track(
    rows: NewRows,
    g: NewTrack,
    album_id: uuid.UUID | None,
    album_title: str | None,
    artist_ids: ArtistIds,
    *,
    source: str | None,
    now: datetime,
) -> list[IdValue]:
    """Add the row, credits and event of a new track to ``rows``; returns its external ids."""
    p = g.first
    title = p.candidate.title.strip()
    duration, disc, number = g.pick("duration_ms"), g.pick("disc_number"), g.pick("track_number")
    explicit = bool(g.pick("explicit"))
    credits = resolved(p.credits, artist_ids)
    ids = track_ids(g)
    rows.rows.append(
        (
            g.id,
            title,
            p.title_norm,
            p.title_variant,
            p.title_search,
            album_id,
            normalize_text(album_title) if album_title else "",
            disc,
            number,
            duration,
            explicit,
            p.printed,
            normalize_text(p.printed),
            artist_ids[p.primary_norm],
            source,
        )
    )
    rows.credit_rows.extend(credit_rows(g.id, credits))
    payload = contracts.TrackV1(
        track_id=g.id,
        title=title,
        artist_names=p.printed,
        credits=credit_payloads(credits),
        album_id=album_id,
        album_title=album_title,
        duration_ms=duration,
        disc_number=disc,
        track_number=number,
        explicit=explicit,
        isrcs=sorted(v for ns, v in ids if ns == "isrc"),
        updated_at=now,
    )
    rows.events.append((contracts.TRACK_CREATED, payload, str(g.id)))
    return [(ns, v, g.id) for ns, v in ids]
