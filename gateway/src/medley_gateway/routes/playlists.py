"""The playlists service's pass-through routes: ``/api/v1/playlists`` (playlists, their
items, collaborators, files, mappings), ``/api/v1/users/{id}/playlists``,
``/api/v1/smart-playlists`` and ``/api/v1/me/collections``.

Reads of a playlist take a token or none (public and unlisted playlists are readable by
anyone; the service decides, so the caller's ``Authorization`` goes along when given).
Everything else needs a user's token. ``If-Match`` and ``If-None-Match`` go to the service
and its ``ETag`` comes back, so conditional changes and reads work end to end.
"""

from __future__ import annotations

from medley_gateway.routing import PUBLIC, USER, Group, Route

PLAYLISTS = "playlists"
ID = "/{playlist_id:str}"  # the service answers 422 for an id that is not a UUID
MULTIPART = "multipart/form-data"
# Playlist files are larger than JSON bodies (the service reads at most 4 MiB of a file).
FILE_BYTES = 5 * 1_048_576
CHANGE = (400, 404, 412, 413, 422)

playlists = Group("/api/v1/playlists", PLAYLISTS, "/playlists", USER, tags=("playlists",))
readers = Group("/api/v1/playlists", PLAYLISTS, "/playlists", PUBLIC, tags=("playlists",))
users = Group("/api/v1/users", PLAYLISTS, "/users", PUBLIC, tags=("playlists",))
smart = Group(
    "/api/v1/smart-playlists", PLAYLISTS, "/smart-playlists", USER, tags=("smart playlists",)
)
collections = Group("/api/v1/me/collections", PLAYLISTS, "/me/collections", USER,
                    tags=("collections",))  # fmt: skip

PLAYLIST_ROUTES = (
    playlists.post(
        "",
        to="/playlists",
        status=201,
        summary="Create a playlist",
        answer="The playlist, with its `snapshot_id` (also its `ETag`).",
        problems=(400, 413, 422),
    ),
    playlists.get(
        "",
        to="/playlists",
        summary="My playlists, those shared with me, or my trash",
        answer="A keyset page: `items`, `next_cursor`.",
        description="``scope`` (``mine``, ``shared``, ``trash``), ``sort`` (``name``, "
        "``updated``, ``created``), ``order``, ``limit``, ``cursor``.",
        problems=(400, 422),
    ),
    playlists.post(
        "/import",
        status=201,
        summary="Import a playlist file",
        answer="Each playlist the file held, with a report per entry.",
        description="Multipart ``file`` (M3U/M3U8, XSPF, Medley JSON or Spotify's "
        "``Playlist1.json``), ``format`` when the name does not say, ``base``: the folder "
        "relative paths start from. Importing the same playlist again answers the first.",
        request_media_types=(MULTIPART,),
        max_body_bytes=FILE_BYTES,
        problems=(400, 413, 422),
    ),
    readers.get(
        ID,
        summary="A playlist",
        answer="The playlist with `snapshot_id`, `track_count`, `duration_ms`.",
        description="Answers an ``ETag``; ``If-None-Match`` with it answers 304 while "
        "nothing changed. A private playlist is 404 to everyone but its people.",
        also={304: "Not modified."},
        forward_authorization=True,
        problems=(401, 404, 422),
    ),
    playlists.patch(
        ID,
        summary="Rename, describe or share a playlist (its owner)",
        answer="The playlist, with its new `snapshot_id`.",
        description="Sent with ``If-Match`` or ``snapshot_id`` of an older snapshot: 412 "
        "with the current one, nothing changed.",
        problems=CHANGE,
    ),
    playlists.delete(
        ID,
        status=204,
        summary="Delete a playlist to the trash (its owner)",
        answer="Deleted; restorable.",
        problems=(404, 412, 422),
    ),
    playlists.post(
        f"{ID}/restore",
        takes_body=False,
        summary="Restore a playlist from the trash",
        answer="The playlist.",
        problems=(404, 422),
    ),
    readers.get(
        f"{ID}/items",
        summary="A playlist's items, in order",
        answer="`items` (with their tracks), `next_cursor`, `snapshot_id`; an `ETag`.",
        description="``limit`` (up to 10,000) and ``cursor``; ``If-None-Match`` answers 304.",
        also={304: "Not modified."},
        forward_authorization=True,
        problems=(401, 404, 422),
    ),
    playlists.post(
        f"{ID}/items",
        status=201,
        summary="Add up to 100 tracks",
        answer="The new `snapshot_id` (also the `ETag`).",
        problems=CHANGE,
    ),
    playlists.delete(
        f"{ID}/items",
        takes_body=True,
        summary="Remove items",
        answer="The new `snapshot_id`.",
        problems=CHANGE,
    ),
    playlists.patch(
        f"{ID}/items",
        summary="Move a range of items",
        answer="The new `snapshot_id`.",
        description="``range_start``, ``range_length``, ``insert_before`` as the Spotify Web "
        "API defines them.",
        problems=CHANGE,
    ),
    playlists.put(
        f"{ID}/items",
        summary="Replace every item",
        answer="The new `snapshot_id`.",
        max_body_bytes=FILE_BYTES,
        problems=CHANGE,
    ),
    readers.get(
        f"{ID}/collaborators",
        summary="A playlist's collaborators",
        answer="`items`: users and their roles.",
        forward_authorization=True,
        problems=(401, 404, 422),
    ),
    playlists.post(
        f"{ID}/collaborators",
        status=201,
        summary="Name a collaborator (the owner)",
        answer="The collaborator.",
        problems=(400, 404, 413, 422),
    ),
    playlists.delete(
        f"{ID}/collaborators/{{user_id:str}}",
        status=204,
        summary="Remove a collaborator, or leave",
        answer="Removed.",
        problems=(404, 422),
    ),
    readers.get(
        f"{ID}/export",
        summary="Export a playlist",
        answer="The file: ``format`` = ``json``, ``m3u8`` or ``xspf``.",
        forward_authorization=True,
        problems=(401, 404, 422),
    ),
    playlists.get(
        f"{ID}/mappings",
        summary="Where else a playlist lives (its owner)",
        answer="`items`: connector, its playlist id, last synced.",
        problems=(404, 422),
    ),
    playlists.put(
        f"{ID}/mappings/{{connector:str}}",
        summary="Record a connector's playlist (its owner)",
        answer="The mapping.",
        problems=(400, 404, 413, 422),
    ),
    playlists.delete(
        f"{ID}/mappings/{{connector:str}}",
        status=204,
        summary="Forget a mapping (its owner)",
        answer="Forgotten.",
        problems=(404, 422),
    ),
    users.get(
        "/{user_id:str}/playlists",
        summary="A user's public playlists",
        answer="A keyset page: `items`, `next_cursor`.",
        problems=(400, 422),
    ),
)

SMART_ROUTES = (
    smart.post(
        "",
        to="/smart-playlists",
        status=201,
        summary="Save smart-playlist rules",
        answer="The smart playlist.",
        description="Rules in Navidrome's ``.nsp`` shape; a wrong rule is a 422 naming it.",
        problems=(400, 413, 422),
    ),
    smart.get(
        "",
        to="/smart-playlists",
        summary="My smart playlists",
        answer="A keyset page: `items`, `next_cursor`.",
        problems=(400, 422),
    ),
    smart.post(
        "/import",
        status=201,
        summary="Import an .nsp file",
        answer="The smart playlist.",
        request_media_types=(MULTIPART,),
        max_body_bytes=FILE_BYTES,
        problems=(400, 413, 422),
    ),
    smart.get(
        "/{smart_id:str}", summary="A smart playlist", answer="Its rules.", problems=(404, 422)
    ),
    smart.patch(
        "/{smart_id:str}",
        summary="Change a smart playlist",
        answer="The smart playlist.",
        problems=(400, 404, 413, 422),
    ),
    smart.delete(
        "/{smart_id:str}",
        status=204,
        summary="Delete a smart playlist",
        answer="Deleted.",
        problems=(404, 422),
    ),
    smart.get(
        "/{smart_id:str}/tracks",
        summary="The tracks a smart playlist selects now",
        answer="`items`, `next_offset`.",
        problems=(400, 404, 422),
    ),
    smart.get(
        "/{smart_id:str}/export",
        summary="Export as .nsp",
        answer="The .nsp document.",
        problems=(404, 422),
    ),
)

COLLECTION_ROUTES = (
    collections.get(
        "/{kinds:str}",
        summary="Saved albums or artists",
        answer="A keyset page, newest first.",
        problems=(400, 404, 422),
    ),
    collections.get(
        "/{kinds:str}/contains",
        summary="Whether albums or artists are saved",
        answer="`ids` and, for each, `saved`.",
        description="``ids``: up to 100, comma-separated.",
        problems=(400, 404, 422),
    ),
    collections.put(
        "/{kinds:str}/{entity_id:str}",
        takes_body=False,
        summary="Save an album or artist",
        answer="When it was saved.",
        problems=(404, 422),
    ),
    collections.delete(
        "/{kinds:str}/{entity_id:str}",
        status=204,
        summary="Remove a saved album or artist",
        answer="Removed.",
        problems=(404, 422),
    ),
)

ROUTES: tuple[Route, ...] = (*PLAYLIST_ROUTES, *SMART_ROUTES, *COLLECTION_ROUTES)
