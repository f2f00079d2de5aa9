"""The composed reads, declared: for each, its parts (which upstream fills which field, what
is optional) and the few lines that put the parts' results together.

Field names: ``details`` is the catalog's track (with its ``album`` and ``credits``: the
artists) beside what the owning service already shows of it (``track``); ``my_play_count``
and ``my_last_played_at`` are the caller's own listening (``play_count`` stays the
catalog's count over everyone). Every answer also has ``meta.degraded``
(:mod:`medley_gateway.compose.declare`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Raw

from medley_gateway.compose import shapes
from medley_gateway.compose.declare import Batch, Call, Composition, Context, Part
from medley_gateway.upstreams import path_segment

USERS, CATALOG, INGESTION, PLAYLISTS = "users", "catalog", "ingestion", "playlists"
PLAYLIST_ITEMS_MAX = 10_000  # the playlists service's largest playlist and page
RECENT_LISTENS = 10
RECENT_PLAYLISTS = 5
TOP_ARTISTS = 5
TOP_TRACKS = 10
ARTIST_ALBUMS = 100
RECENT_IMPORTS = 20
RUNNING = ("queued", "running")


def _with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _id(context: Context, name: str) -> str:
    return path_segment(str(context.path[name]))


# --- what the parts read of their answers ------------------------------------------------
# What a composition passes on as the upstream wrote it (a catalog track, a playlist item) is
# kept as msgspec.Raw: never turned into Python objects, written back as the same bytes.


class _Identified(msgspec.Struct):
    id: str


class _CatalogBatch(msgspec.Struct):
    items: list[Raw] = []
    redirects: dict[str, str] | None = None


class _Play(msgspec.Struct):
    track_id: str
    play_count: int
    last_played_at: Raw  # a timestamp or null, passed on as written


class _PlaysBatch(msgspec.Struct):
    items: list[_Play] = []


class _TrackId(msgspec.Struct):
    track_id: str


class _ItemIds(msgspec.Struct):
    items: list[_TrackId]


class _ExpandedIds(msgspec.Struct):
    items: _ItemIds


class _RawItems(msgspec.Struct):
    items: list[Raw]


class _RawExpanded(msgspec.Struct):
    playlist: dict[str, Raw]
    items: _RawItems


class Expanded(msgspec.Struct):
    """The playlists service's ``/expanded`` answer as the composition reads it: the
    playlist's fields and its items as written, and the items' track ids (in order)."""

    playlist: dict[str, Raw]
    items: list[Raw]
    track_ids: list[str]


_read_catalog_batch = msgspec.json.Decoder(_CatalogBatch).decode
_read_plays_batch = msgspec.json.Decoder(_PlaysBatch).decode
_read_id = msgspec.json.Decoder(_Identified).decode
_read_raw_expanded = msgspec.json.Decoder(_RawExpanded).decode
_read_expanded_ids = msgspec.json.Decoder(_ExpandedIds).decode
_encode = msgspec.json.Encoder().encode


def read_expanded(body: bytes) -> Expanded:
    raw = _read_raw_expanded(body)
    ids = _read_expanded_ids(body)  # the same body again, for the ids alone: C, fast
    return Expanded(raw.playlist, raw.items.items, [item.track_id for item in ids.items.items])


# --- batch lookups shared by the compositions -----------------------------------------------


def _catalog_items(answer: _CatalogBatch) -> dict[str, Any]:
    """A catalog batch answer as ``{asked id: entity}`` (a merged id: its survivor); each
    entity as the catalog wrote it."""
    by_id = {_read_id(item).id: item for item in answer.items}
    found: dict[str, Any] = dict(by_id)
    for asked, survivor in (answer.redirects or {}).items():
        found[asked] = by_id.get(survivor)
    return found


def _plays_items(answer: _PlaysBatch) -> dict[str, Any]:
    return {item.track_id: item for item in answer.items}


def catalog_tracks(ids: list[str]) -> Batch:
    return Batch("/tracks/batch", ids, key="ids", index=_catalog_items, read=_read_catalog_batch)


def my_plays(ids: list[str]) -> Batch:
    return Batch(
        "/api/v1/me/plays/batch",
        ids,
        key="track_ids",
        index=_plays_items,
        read=_read_plays_batch,
    )


def _track_ids(items: list[dict[str, Any]] | None, *path: str) -> list[str]:
    ids = []
    for item in items or []:
        value: Any = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value:
            ids.append(str(value))
    return ids


def _with_plays(target: dict[str, Any], plays: dict[str, Any] | None, track_id: str) -> None:
    """``my_play_count`` / ``my_last_played_at`` (None: not known, the part is missing or
    the caller is anonymous)."""
    if plays is None:
        target["my_play_count"] = target["my_last_played_at"] = None
        return
    played = plays.get(track_id)
    target["my_play_count"] = played.play_count if played else 0
    target["my_last_played_at"] = played.last_played_at if played else None


# --- GET /api/v1/playlists/{id}?expand=tracks -----------------------------------------------


def _playlist(context: Context) -> dict[str, Any]:
    expanded: Expanded = context["playlist"]
    answer: dict[str, Any] = dict(expanded.playlist)
    tracks, plays = context["tracks"] or {}, context["plays"]
    # Each item as the playlists service wrote it, with ``details``, ``my_play_count`` and
    # ``my_last_played_at`` written at its end (an item has none of them: they are the
    # composition's), in one join: no item is decoded, and no byte copied but once.
    pieces: list[Any] = [b"["]
    for item, track_id in zip(expanded.items, expanded.track_ids, strict=True):
        written = memoryview(item)
        closing = len(written) - 1
        if closing < 1 or written[closing] != 0x7D:  # "}"
            raise ValueError("a playlist item is not a JSON object")
        details = tracks.get(track_id)
        if plays is None:
            count, last = b"null", b"null"
        elif (played := plays.get(track_id)) is not None:
            count, last = str(played.play_count).encode(), played.last_played_at
        else:
            count, last = b"0", b"null"
        pieces += (
            written[:closing],
            b',"details":' if closing > 1 else b'"details":',
            b"null" if details is None else details,
            b',"my_play_count":',
            count,
            b',"my_last_played_at":',
            last,
            b"},",
        )
    if len(pieces) > 1:
        pieces[-1] = b"}"
    pieces.append(b"]")
    answer["items"] = Raw(b"".join(pieces))
    return answer


PLAYLIST = Composition(
    path="/api/v1/playlists/{playlist_id:str}",
    summary="A playlist; with ?expand=tracks, its items with catalog details and my plays",
    description="Without ``expand`` the playlists service's answer as it is (``ETag``, 304). "
    "With ``expand=tracks``: the playlist, ``items`` in order, each with ``details`` (the "
    "catalog's track, album and credited artists) and the caller's ``my_play_count`` and "
    "``my_last_played_at``. The playlist and its items are required (503 without them); "
    "the catalog and ingestion parts are optional (named in ``meta.degraded`` when missing).",
    user_only=False,
    tags=("playlists", "composed"),
    response=shapes.ComposedPlaylist,
    composes_when=lambda query: "tracks" in query.get("expand", "").split(","),
    plain=(PLAYLISTS, "/playlists/{playlist_id}"),
    parts=(
        Part(
            # The playlist and its items in one call (one read of the playlists service).
            name="playlist",
            upstream=PLAYLISTS,
            call=lambda c: Call(
                "GET",
                f"/playlists/{_id(c, 'playlist_id')}/expanded",
                params={"limit": PLAYLIST_ITEMS_MAX},
            ),
            fills=("*", "items"),
            required=True,
            authorize=True,
            read=read_expanded,
        ),
        Part(
            name="tracks",
            upstream=CATALOG,
            call=lambda c: catalog_tracks(c["playlist"].track_ids),
            after=("playlist",),
            fills=("items[].details",),
            cached=True,
        ),
        Part(
            name="plays",
            upstream=INGESTION,
            call=lambda c: my_plays(c["playlist"].track_ids),
            after=("playlist",),
            fills=("items[].my_play_count", "items[].my_last_played_at"),
            for_user=True,
        ),
    ),
    build=_playlist,
)


# --- GET /api/v1/albums/{id} ----------------------------------------------------------------


def _album(context: Context) -> dict[str, Any]:
    answer: dict[str, Any] = dict(context["album"])
    plays = context["plays"]
    tracks = []
    for track in answer.get("tracks", []):
        shown = dict(track)
        _with_plays(shown, plays, str(track["id"]))
        tracks.append(shown)
    answer["tracks"] = tracks
    saved = context["saved"]
    answer["saved"] = bool(saved["saved"][0]) if saved and saved.get("saved") else None
    containing = context["in_playlists"]
    answer["in_my_playlists"] = containing["items"] if containing is not None else None
    return answer


ALBUM = Composition(
    path="/api/v1/albums/{album_id:str}",
    summary="An album with its tracks, my plays of each, whether I saved it, my playlists "
    "holding it",
    description="The catalog's album (every field of ``/api/v1/catalog/albums/{id}``) and, for "
    "a signed-in caller, ``tracks[].my_play_count`` / ``my_last_played_at`` (ingestion), "
    "``saved`` and ``in_my_playlists`` (playlists); null for an anonymous caller. The album "
    "is required; the rest is optional (``meta.degraded``).",
    user_only=False,
    tags=("catalog", "composed"),
    response=shapes.ComposedAlbum,
    parts=(
        Part(
            name="album",
            upstream=CATALOG,
            call=lambda c: Call("GET", f"/albums/{_id(c, 'album_id')}"),
            fills=("*", "tracks"),
            required=True,
            cached=True,
        ),
        Part(
            name="plays",
            upstream=INGESTION,
            call=lambda c: my_plays(_track_ids(c["album"]["tracks"], "id")),
            after=("album",),
            fills=("tracks[].my_play_count", "tracks[].my_last_played_at"),
            for_user=True,
        ),
        Part(
            name="saved",
            upstream=PLAYLISTS,
            call=lambda c: Call(
                "GET", "/me/collections/albums/contains", params={"ids": str(c.path["album_id"])}
            ),
            fills=("saved",),
            for_user=True,
        ),
        Part(
            name="in_playlists",
            upstream=PLAYLISTS,
            call=lambda c: Call(
                "GET", "/me/playlists/containing", params={"album_id": str(c.path["album_id"])}
            ),
            fills=("in_my_playlists",),
            for_user=True,
        ),
    ),
    build=_album,
)


# --- GET /api/v1/artists/{id} ---------------------------------------------------------------


def _artist(context: Context) -> dict[str, Any]:
    answer: dict[str, Any] = dict(context["artist"])
    albums = context["albums"]
    answer["albums"] = albums["items"] if albums is not None else None
    top = context["top_tracks"]
    answer["my_top_tracks"] = top["items"] if top is not None else None
    return answer


ARTIST = Composition(
    path="/api/v1/artists/{artist_id:str}",
    summary="An artist with their albums and my most played tracks of theirs",
    description="The catalog's artist (every field of ``/api/v1/catalog/artists/{id}``), "
    f"``albums`` (up to {ARTIST_ALBUMS}, catalog) and, for a signed-in caller, "
    "``my_top_tracks`` (ingestion). The artist is required; the rest is optional.",
    user_only=False,
    tags=("catalog", "composed"),
    response=shapes.ComposedArtist,
    parts=(
        Part(
            name="artist",
            upstream=CATALOG,
            call=lambda c: Call("GET", f"/artists/{_id(c, 'artist_id')}"),
            fills=("*",),
            required=True,
            cached=True,
        ),
        Part(
            name="albums",
            upstream=CATALOG,
            call=lambda c: Call(
                "GET",
                "/albums",
                params={"artist": str(c.path["artist_id"]), "limit": ARTIST_ALBUMS},
            ),
            fills=("albums",),
            cached=True,
        ),
        Part(
            name="top_tracks",
            upstream=INGESTION,
            call=lambda c: Call(
                "GET",
                "/api/v1/me/plays/top-tracks",
                params={"artist_id": str(c.path["artist_id"]), "limit": TOP_TRACKS},
            ),
            fills=("my_top_tracks",),
            for_user=True,
        ),
    ),
    build=_artist,
)


# --- GET /api/v1/me/home --------------------------------------------------------------------


def _listens_with_details(
    listens: list[dict[str, Any]], tracks: dict[str, Any] | None
) -> list[Any]:
    shown = []
    for listen in listens:
        item = dict(listen)
        item["details"] = (tracks or {}).get(str(listen["track"]["id"]))
        shown.append(item)
    return shown


def _home(context: Context) -> dict[str, Any]:
    listens, top, playlists, imports = (
        context["listens"], context["top_artists"], context["playlists"], context["imports"]
    )  # fmt: skip
    return {
        "profile": context["profile"],
        "recent_listens": None
        if listens is None
        else _listens_with_details(listens["items"], context["listen_tracks"]),
        "top_artists": None if top is None else top["items"],
        "recent_playlists": None if playlists is None else playlists["items"],
        "running_imports": None
        if imports is None
        else [job for job in imports["items"] if job["status"] in RUNNING],
    }


HOME = Composition(
    path="/api/v1/me/home",
    summary="My home: profile, recent listens, top artists this month, recent playlists, "
    "running imports",
    description="``profile`` (users, required); ``recent_listens`` with catalog ``details`` "
    "(ingestion, catalog), ``top_artists`` of this month (ingestion), ``recent_playlists`` "
    "(playlists, most recently changed first), ``running_imports`` (ingestion: queued or "
    "running, among the newest). Each optional part left empty is named in ``meta.degraded``.",
    user_only=True,
    tags=("me", "composed"),
    response=shapes.Home,
    parts=(
        Part(
            name="profile",
            upstream=USERS,
            call=lambda c: Call("GET", "/me"),
            fills=("profile",),
            required=True,
            for_user=True,
        ),
        Part(
            name="listens",
            upstream=INGESTION,
            call=lambda c: Call("GET", "/api/v1/me/listens", params={"limit": RECENT_LISTENS}),
            fills=("recent_listens",),
            for_user=True,
        ),
        Part(
            name="listen_tracks",
            upstream=CATALOG,
            call=lambda c: catalog_tracks(_track_ids(c["listens"]["items"], "track", "id")),
            after=("listens",),
            fills=("recent_listens[].details",),
            cached=True,
        ),
        Part(
            name="top_artists",
            upstream=INGESTION,
            call=lambda c: Call(
                "GET",
                "/api/v1/me/stats/top-artists",
                params={"range": "this_month", "limit": TOP_ARTISTS},
            ),
            fills=("top_artists",),
            for_user=True,
        ),
        Part(
            name="playlists",
            upstream=PLAYLISTS,
            call=lambda c: Call(
                "GET",
                "/playlists",
                params={"sort": "updated", "order": "desc", "limit": RECENT_PLAYLISTS},
            ),
            fills=("recent_playlists",),
            for_user=True,
        ),
        Part(
            name="imports",
            upstream=INGESTION,
            call=lambda c: Call("GET", "/api/v1/imports", params={"limit": RECENT_IMPORTS}),
            fills=("running_imports",),
            for_user=True,
        ),
    ),
    build=_home,
)


# --- GET /api/v1/me/listens -----------------------------------------------------------------


def _listens(context: Context) -> dict[str, Any]:
    answer: dict[str, Any] = dict(context["listens"])
    answer["items"] = _listens_with_details(answer.get("items", []), context["tracks"])
    return answer


LISTENS = Composition(
    path="/api/v1/me/listens",
    summary="My listens, newest first, with catalog details",
    description="Ingestion's page (``items``, ``next_cursor``; filters ``since``, ``until``, "
    "``track_id``, ``limit``, ``cursor`` as ingestion takes them), each listen with "
    "``details``: the catalog's track, album and credited artists (optional: "
    "``meta.degraded`` when the catalog is missing).",
    user_only=True,
    tags=("listens", "composed"),
    response=shapes.ComposedListens,
    parts=(
        Part(
            name="listens",
            upstream=INGESTION,
            # The caller's filters and cursor, as sent: ingestion checks them.
            call=lambda c: Call("GET", _with_query("/api/v1/me/listens", c.raw_query)),
            fills=("items", "next_cursor"),
            required=True,
            for_user=True,
        ),
        Part(
            name="tracks",
            upstream=CATALOG,
            call=lambda c: catalog_tracks(_track_ids(c["listens"]["items"], "track", "id")),
            after=("listens",),
            fills=("items[].details",),
            cached=True,
        ),
    ),
    build=_listens,
)

COMPOSITIONS: tuple[Composition, ...] = (PLAYLIST, ALBUM, ARTIST, HOME, LISTENS)
