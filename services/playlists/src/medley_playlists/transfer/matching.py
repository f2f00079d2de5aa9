"""Finding the catalog track each imported entry means, set-based, and saying how.

In order, an entry leaves at the first step that answers:

1. ``id``: it names a Medley track (``medley:track:<id>``, a Medley JSON export) the
   projection knows (a merged one: its survivor);
2. ``local``: the projection holds a live track with the same title and artist (case and
   Unicode form folded; the closest duration when several do) — one query for all entries;
3. the catalog's batch resolution, for what is left (one call per 1,000 entries), matching
   only (a file's guesses never create catalog tracks): its method (``external_id``,
   ``exact``, ``fuzzy``) and confidence;
4. otherwise unmatched, with the reason (no title and artist to look for, not in the
   catalog, the catalog's refusal, no resolver configured).

A catalog that cannot be reached fails the import with a 503 naming it (nothing is created,
so trying again later resolves everything), never a playlist silently missing entries.

Between steps 1 and 2 sits ``library``: an M3U path matched to one of the owner's library
files (:class:`LibraryFiles`, given :attr:`Entry.location` in its normal form). Audio
libraries do not exist yet (ingestion part 2), so no deployment passes one: the seam is here,
the step is skipped.

Tracks the catalog resolved that the projection has not heard of yet get placeholders
(their catalog event brings the real row).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from medley_core.catalog_client import Refused, Resolution, candidate
from medley_core.errors import ServiceUnavailable
from medley_core.http import UpstreamTimeout
from medley_playlists import projection
from medley_playlists.text import fold
from medley_playlists.transfer.entries import Entry


class Resolver(Protocol):
    """The catalog's batch resolution (:class:`medley_core.catalog_client.CatalogClient`):
    one answer per candidate, in order."""

    async def resolve(
        self, candidates: Sequence[Mapping[str, Any] | str], source: str, *, create: bool = True
    ) -> list[Resolution]: ...


class LibraryFiles(Protocol):
    """The owner's library files (not built yet): the track at each of these locations."""

    async def tracks_at(
        self, owner: uuid.UUID, locations: Sequence[str]
    ) -> dict[str, uuid.UUID]: ...


class CatalogUnreachable(ServiceUnavailable):
    slug = "catalog-unavailable"


@dataclass(frozen=True)
class Match:
    entry: Entry
    track_id: uuid.UUID | None = None
    method: str | None = None
    confidence: int | None = None
    reason: str | None = None

    def report(self) -> dict[str, Any]:
        status = "skipped" if self.entry.skipped else "matched" if self.track_id else "unmatched"
        return {
            "index": self.entry.index,
            "at": self.entry.where,
            "title": self.entry.title,
            "artist": self.entry.artist,
            "status": status,
            "method": self.method,
            "confidence": self.confidence,
            "track_id": self.track_id,
            "reason": self.entry.skipped or self.reason,
        }


async def _by_id(conn: asyncpg.Connection[Any], entries: Sequence[Entry]) -> dict[int, Match]:
    wanted = [e for e in entries if e.track_id is not None]
    if not wanted:
        return {}
    records = await conn.fetch(
        """
        SELECT given.n, coalesce(s.id, t.id) AS track_id
        FROM unnest($1::uuid[], $2::int[]) AS given(id, n)
        JOIN tracks t ON t.id = given.id
        LEFT JOIN tracks s ON s.id = t.merged_into
        WHERE coalesce(s.status, t.status) IN ('active', 'pending')
        """,
        [e.track_id for e in wanted],
        [e.index for e in wanted],
    )
    by_index = {e.index: e for e in wanted}
    return {r["n"]: Match(by_index[r["n"]], r["track_id"], "id", 100) for r in records}


async def _locally(conn: asyncpg.Connection[Any], entries: Sequence[Entry]) -> dict[int, Match]:
    wanted = [e for e in entries if e.title and e.artist]
    if not wanted:
        return {}
    records = await conn.fetch(
        """
        SELECT DISTINCT ON (given.n) given.n, t.id
        FROM unnest($1::int[], $2::text[], $3::text[], $4::int[])
            AS given(n, artist_key, title_key, duration_ms)
        JOIN tracks t ON t.artist_key = given.artist_key AND t.title_key = given.title_key
            AND t.status IN ('active', 'pending')
        ORDER BY given.n, abs(t.duration_ms - given.duration_ms) NULLS LAST, t.id
        """,
        [e.index for e in wanted],
        [fold(e.artist or "") for e in wanted],
        [fold(e.title or "") for e in wanted],
        [e.duration_ms for e in wanted],
    )
    by_index = {e.index: e for e in wanted}
    return {r["n"]: Match(by_index[r["n"]], r["id"], "local", 100) for r in records}


def entry_candidate(entry: Entry) -> dict[str, Any] | str:
    """What the catalog's resolution takes for an entry, or why it would refuse it."""
    return candidate(
        entry.title,
        entry.artist,
        album=entry.album,
        duration_ms=entry.duration_ms,
        spotify_id=entry.spotify_id,
        isrc=entry.isrc,
    )


async def _through_catalog(
    conn: asyncpg.Connection[Any],
    entries: Sequence[Entry],
    resolver: Resolver | None,
    source: str,
) -> dict[int, Match]:
    if not entries:
        return {}
    if resolver is None:
        return {e.index: Match(e, reason="not in the catalog the service knows") for e in entries}
    try:
        # Match only: a file's guesses do not create catalog tracks.
        answers = await resolver.resolve(
            [entry_candidate(e) for e in entries], source, create=False
        )
    except (ServiceUnavailable, UpstreamTimeout) as exc:
        raise CatalogUnreachable(
            f"{len(entries)} entries are not in the catalog the service knows and the "
            f"catalog's resolution did not answer ({exc.detail}); nothing was imported: "
            "try again later"
        ) from None
    found: dict[int, Match] = {}
    places: list[tuple[uuid.UUID, str, str, int | None]] = []
    for entry, answer in zip(entries, answers, strict=True):
        if isinstance(answer, Refused):
            found[entry.index] = Match(entry, reason=answer.reason)
            continue
        found[entry.index] = Match(entry, answer.track_id, answer.method, answer.confidence)
        places.append((answer.track_id, entry.title or "", entry.artist or "", entry.duration_ms))
    await projection.hold_places(conn, places)
    return found


async def _in_library(
    library: LibraryFiles | None, owner: uuid.UUID | None, entries: Sequence[Entry]
) -> dict[int, Match]:
    wanted = [e for e in entries if e.location and "://" not in e.location]
    if library is None or owner is None or not wanted:
        return {}
    at = await library.tracks_at(owner, [e.location for e in wanted if e.location])
    return {e.index: Match(e, at[e.location], "library", 100) for e in wanted if e.location in at}


async def match(
    conn: asyncpg.Connection[Any],
    entries: Sequence[Entry],
    resolver: Resolver | None,
    *,
    source: str = "import",
    owner: uuid.UUID | None = None,
    library: LibraryFiles | None = None,
) -> list[Match]:
    """One match per entry, in order."""
    tracks = [e for e in entries if not e.skipped]
    found = await _by_id(conn, tracks)
    found.update(await _in_library(library, owner, [e for e in tracks if e.index not in found]))
    found.update(await _locally(conn, [e for e in tracks if e.index not in found]))
    rest = [e for e in tracks if e.index not in found]
    askable = [e for e in rest if e.title and e.artist]
    found.update(await _through_catalog(conn, askable, resolver, source))
    for entry in rest:
        if entry.index not in found:
            found[entry.index] = Match(entry, reason="no title and artist to look for")
    return [found.get(e.index) or Match(e) for e in entries]
