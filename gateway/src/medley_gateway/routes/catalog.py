"""The catalog's pass-through routes: ``/api/v1/catalog`` (public reads) and
``/api/v1/admin/catalog`` (admin writes), the same for tracks, albums and artists.

Reads need no token. Writes need the ``admin`` role, checked here before the catalog is
called; the catalog checks it again. Bodies, query strings and the catalog's answers
(problem details included) pass through as they are: the catalog owns their rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from medley_gateway.routing import ADMIN, PUBLIC, Group, Route

CATALOG = "catalog"
# What a write can meet: no or the wrong token, malformed or too large a body, an unknown
# id, a conflict (a merge loop, a taken external id), a rule broken.
WRITE = (400, 404, 409, 413, 422)
ENTITY_ID = "/{entity_id:str}"  # the catalog answers 422 for an id that is not a UUID

reads = Group("/api/v1/catalog", CATALOG, "", PUBLIC, tags=("catalog",))
writes = Group("/api/v1/admin/catalog", CATALOG, "", ADMIN, tags=("admin", "catalog"))


@dataclass(frozen=True)
class Kind:
    """Tracks, albums or artists: the collection's path segment and one item's name."""

    collection: str
    one: str
    filters: str


KINDS = (
    Kind(
        "tracks",
        "track",
        "``artist``, ``album``, ``genre``, ``year``, ``type`` (the album's), ``source``; "
        "``sort``: ``title`` or ``popularity``",
    ),
    Kind("albums", "album", "``artist``, ``genre``, ``year``, ``type``, ``source``; ``sort``"),
    Kind("artists", "artist", "``genre``, ``source``; ``sort``"),
)


def entity_reads(kind: Kind) -> tuple[Route, ...]:
    one, entity = f"/{kind.collection}", f"/{kind.collection}{ENTITY_ID}"
    return (
        reads.get(
            one,
            summary=f"List {kind.collection}",
            answer="A keyset page: `items`, `next_cursor`.",
            description=f"Filters: {kind.filters}; ``limit`` and the previous page's ``cursor``.",
            problems=(400, 422),
        ),
        reads.get(
            f"{one}/lookup",
            summary=f"Find a {kind.one} by external id",
            answer=f"The {kind.one} carrying the id.",
            description="``namespace`` (``isrc``, ``mbid``, ``spotify``, ``discogs``, "
            "``lastfm``, ``local``) and ``value``.",
            problems=(400, 404, 422),
        ),
        reads.post(
            f"{one}/batch",
            summary=f"Get up to 1,000 {kind.collection} by id",
            answer="`items`, `redirects` (merged ids), `missing`.",
            problems=(400, 413, 422),
        ),
        reads.get(
            entity,
            summary=f"One {kind.one}",
            answer=f"The {kind.one}; a merged id answers with its survivor.",
            problems=(404, 422),
        ),
    )


def entity_writes(kind: Kind) -> tuple[Route, ...]:
    one, entity = f"/{kind.collection}", f"/{kind.collection}{ENTITY_ID}"
    return (
        writes.post(
            one, status=201, summary=f"Create a {kind.one}", answer="Created.", problems=WRITE
        ),
        writes.patch(
            entity,
            summary=f"Update a {kind.one} (only the fields given)",
            answer=f"The {kind.one}.",
            problems=WRITE,
        ),
        writes.delete(
            entity,
            status=204,
            summary=f"Delete a {kind.one} (soft; restorable)",
            answer="Deleted.",
            problems=(404, 422),
        ),
        writes.post(
            f"{entity}/restore",
            summary=f"Restore a deleted {kind.one}",
            answer=f"The {kind.one}.",
            takes_body=False,
            problems=(404, 422),
        ),
        writes.put(
            f"{entity}/genres",
            summary=f"Replace a {kind.one}'s genres",
            answer=f"The {kind.one}.",
            problems=WRITE,
        ),
        writes.post(
            f"{entity}/genres", summary="Add genres", answer=f"The {kind.one}.", problems=WRITE
        ),
        writes.post(
            f"{entity}/external-ids",
            summary="Attach an external id",
            answer=f"The {kind.one}.",
            problems=WRITE,
        ),
        writes.delete(
            f"{entity}/external-ids/{{namespace:str}}/{{value:str}}",
            status=204,
            summary="Detach an external id",
            answer="Detached.",
            problems=(404, 422),
        ),
        writes.post(
            f"{entity}/images", summary="Add an image", answer=f"The {kind.one}.", problems=WRITE
        ),
        writes.post(
            f"{entity}/descriptions",
            summary="Set the description of a source in a language",
            answer=f"The {kind.one}.",
            problems=WRITE,
        ),
        writes.post(
            f"{entity}/merge",
            summary=f"Merge a duplicate {kind.one} into another",
            answer="The merge's outcome, with the survivor.",
            description='Body ``{"into": id}``; merging into itself or making a loop answers 409.',
            problems=WRITE,
        ),
    )


ROUTES: tuple[Route, ...] = (
    reads.get(
        "/search",
        summary="Search tracks, albums and artists",
        answer="Ranked hits with type facets and a cursor.",
        description="Typo-tolerant and accent-insensitive: ``q``, ``type`` (comma list of "
        "``track,album,artist``), ``genre``, ``year``, ``limit``, ``cursor``.",
        problems=(400, 422),
    ),
    reads.get(
        "/genres", summary="Genres", answer="A page of genres with counts.", problems=(400, 422)
    ),
    writes.post(
        "/genres", status=201, summary="Create a genre", answer="The genre.", problems=WRITE
    ),
    *(route for kind in KINDS for route in entity_reads(kind)),
    *(route for kind in KINDS for route in entity_writes(kind)),
)
