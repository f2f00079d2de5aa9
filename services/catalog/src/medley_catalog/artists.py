"""Artists found or created by name, and the ordered credits that name them.

Shared by resolution (hundreds of names a batch) and hand edits (a few): an artist is
matched on its normalised name (:func:`~medley_catalog.normalize.normalize_artist`), the
oldest live one of that name wins, and the missing ones are created in one COPY. Credits
are written as rows ``(owner, position, artist, credited name, join phrase)``; the owner
keeps the printed form and its primary artist alongside (``artist_names``,
``primary_artist_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from medley_catalog.normalize import normalize_artist, normalize_text, sort_name_for
from medley_catalog.queries import as_uuid, resolve_ids
from medley_contracts import catalog as contracts
from medley_core.errors import Unprocessable
from medley_core.ids import new_id

ARTIST_COLUMNS = ("id", "name", "sort_name", "name_norm", "name_search", "source")
CREDIT_COLUMNS = ("position", "artist_id", "credited_name", "join_phrase")
# Credit table and owner column per entity type.
CREDIT_TABLES = {"track": ("track_credits", "track_id"), "album": ("album_credits", "album_id")}
MAX_CREDITS = 50


@dataclass(frozen=True)
class NewArtist:
    id: uuid.UUID
    name: str
    sort_name: str


@dataclass(frozen=True)
class ResolvedCredit:
    """A credit whose artist is known: the artist, the name as credited, the join phrase."""

    artist_id: uuid.UUID
    credited_name: str
    join_phrase: str


@dataclass(frozen=True)
class CreditSpec:
    """A credit to write by hand: an existing artist (by id; merged ids are followed) or an
    artist found or created by name. ``name`` is also the credited name (defaults to the
    artist's)."""

    artist_id: uuid.UUID | None = None
    name: str | None = None
    join_phrase: str = ""


async def ensure_artists(
    conn: asyncpg.Connection[Any], names: Mapping[str, str], source: str | None
) -> tuple[dict[str, uuid.UUID], list[NewArtist]]:
    """Artist id per normalised name (``names`` maps it to the name to create it with): the
    oldest live artist of that name, or a new one. Returns the ids and the new artists."""
    existing = await conn.fetch(
        """
        SELECT DISTINCT ON (name_norm) name_norm, id FROM artists
        WHERE name_norm = ANY($1::text[]) AND deleted_at IS NULL
        ORDER BY name_norm, id
        """,
        list(names),
    )
    ids = {r["name_norm"]: as_uuid(r["id"]) for r in existing}
    created: list[NewArtist] = []
    rows = []
    for norm, name in names.items():
        if norm in ids:
            continue
        artist = NewArtist(new_id(), name, sort_name_for(name))
        ids[norm] = artist.id
        created.append(artist)
        rows.append((artist.id, name, artist.sort_name, norm, normalize_text(name), source))
    if rows:
        await conn.copy_records_to_table("artists", records=rows, columns=ARTIST_COLUMNS)
    return ids, created


def printed(credits: Sequence[ResolvedCredit]) -> str:
    """The credits as printed: names and join phrases, in order."""
    return "".join(c.credited_name + c.join_phrase for c in credits).strip()


def credit_rows(owner: uuid.UUID, credits: Sequence[ResolvedCredit]) -> list[tuple[Any, ...]]:
    """Credit rows ``(owner, *CREDIT_COLUMNS)``."""
    return [
        (owner, position, c.artist_id, c.credited_name, c.join_phrase)
        for position, c in enumerate(credits)
    ]


def credit_payloads(credits: Sequence[ResolvedCredit]) -> list[contracts.ArtistCreditV1]:
    return [
        contracts.ArtistCreditV1(
            artist_id=c.artist_id, name=c.credited_name, join_phrase=c.join_phrase
        )
        for c in credits
    ]


def _check_specs(specs: Sequence[CreditSpec]) -> None:
    if not specs:
        raise Unprocessable("at least one artist credit is required", field="credits")
    if len(specs) > MAX_CREDITS:
        raise Unprocessable(f"at most {MAX_CREDITS} artist credits", field="credits")
    for spec in specs:
        if spec.artist_id is None and (spec.name is None or not normalize_artist(spec.name)):
            raise Unprocessable("a credit needs an artist_id or a name", field="credits")


async def resolve_credits(
    conn: asyncpg.Connection[Any], specs: Sequence[CreditSpec]
) -> tuple[list[ResolvedCredit], list[NewArtist]]:
    """Hand-written credits with their artists: ids followed through merges (422 for an
    unknown one), names found or created (source ``admin``). Returns the credits and the
    artists created for them."""
    _check_specs(specs)
    by_id = [s.artist_id for s in specs if s.artist_id is not None]
    resolved = await resolve_ids(conn, "artist", by_id)
    # The last spelling of a name is the one a new artist gets.
    names = {
        normalize_artist(s.name): s.name.strip() for s in specs if s.artist_id is None and s.name
    }
    by_name, created = await ensure_artists(conn, names, "admin")
    unknown = [str(i) for i in by_id if i not in resolved.final]
    if unknown:
        raise Unprocessable(f"unknown artist ids: {', '.join(unknown)}", field="credits")
    current_names = {
        as_uuid(r["id"]): r["name"]
        for r in await conn.fetch(
            "SELECT id, name FROM artists WHERE id = ANY($1::uuid[])", list(resolved.final.values())
        )
    }
    credits = []
    for position, spec in enumerate(specs):
        if spec.artist_id is not None:
            artist_id = resolved.final[spec.artist_id]
            name = (spec.name or "").strip() or current_names[artist_id]
        else:
            assert spec.name is not None
            artist_id = by_name[normalize_artist(spec.name)]
            name = spec.name.strip()
        last = position == len(specs) - 1
        credits.append(ResolvedCredit(artist_id, name, "" if last else spec.join_phrase))
    return credits, created


def owner_columns(credits: Sequence[ResolvedCredit]) -> dict[str, Any]:
    """The columns of the credited track or album that follow from its credits."""
    names = printed(credits)
    return {
        "artist_names": names,
        "artist_names_search": normalize_text(names),
        "primary_artist_id": credits[0].artist_id,
    }


async def write_credits(
    conn: asyncpg.Connection[Any],
    entity_type: str,
    entity_id: uuid.UUID,
    credits: Sequence[ResolvedCredit],
    *,
    replace: bool,
) -> dict[str, Any]:
    """Write an entity's credit rows (``replace``: instead of those it has); returns the
    owner's columns that follow from them (:func:`owner_columns`) for its own write."""
    table, key = CREDIT_TABLES[entity_type]
    if replace:
        await conn.execute(f"DELETE FROM {table} WHERE {key} = $1", entity_id)  # noqa: S608
    await conn.executemany(
        f"INSERT INTO {table} ({key}, {', '.join(CREDIT_COLUMNS)}) "  # noqa: S608
        "VALUES ($1, $2, $3, $4, $5)",
        credit_rows(entity_id, credits),
    )
    return owner_columns(credits)
