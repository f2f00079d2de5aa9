"""Ingestion's pass-through routes: a user's imports, listens, likes and stats.

Every one needs the user's access token, which is forwarded: ingestion answers for that
user only (another user's job, listen or like is a 404 there). The upload streams through
(``streams=True``): an export of gigabytes is never held in the gateway's memory, and
ingestion applies its own upload limit.
"""

from __future__ import annotations

from medley_gateway.routing import USER, Group, Route
from medley_gateway.schemas import UploadForm

INGESTION = "ingestion"
PAGE = "A keyset page: `items`, `next_cursor`."

imports = Group("/api/v1/imports", INGESTION, "/api/v1/imports", USER, tags=("imports",))
listens = Group("/api/v1/me/listens", INGESTION, "/api/v1/me/listens", USER, tags=("listens",))
likes = Group("/api/v1/me/likes", INGESTION, "/api/v1/me/likes", USER, tags=("likes",))
stats = Group("/api/v1/me/stats", INGESTION, "/api/v1/me/stats", USER, tags=("stats",))

RANGE = "``range``: ``this_week``, ``this_month``, ``this_year``, ``week``, ``month``, "
"``quarter``, ``half_yearly``, ``year`` or ``all_time`` (the default)."

ROUTES: tuple[Route, ...] = (
    imports.post(
        "",
        status=202,
        summary="Import an export (Spotify, Last.fm, ListenBrainz)",
        answer="The queued job; follow it at its URL.",
        description="``multipart/form-data``: ``file`` (a zip as the service delivers it, or "
        "one of its files), optional ``format`` (what it must be; detected otherwise).",
        request=UploadForm,
        request_media_types=("multipart/form-data",),
        streams=True,
        problems=(400, 413, 415, 422),
    ),
    imports.get("", summary="My imports", answer=PAGE, problems=(400, 422)),
    imports.get(
        "/{job_id:str}",
        summary="One of my imports",
        answer="The job: status, progress counts, rejected records, the reason it failed.",
        problems=(404, 422),
    ),
    imports.post(
        "/{job_id:str}/cancel",
        summary="Cancel an import",
        answer="The job (cancelled, or asked to stop at its next checkpoint).",
        takes_body=False,
        problems=(404, 409, 422),
    ),
    imports.delete(
        "/{job_id:str}",
        status=204,
        summary="Delete an import and its upload (its listens stay)",
        answer="Deleted.",
        problems=(404, 409, 422),
    ),
    listens.get(
        "",
        summary="My listens, newest first",
        answer=PAGE,
        description="Filters: ``since`` (inclusive), ``until`` (exclusive), ``track_id``; "
        "``limit`` and the previous page's ``cursor``.",
        problems=(400, 422),
    ),
    listens.delete(
        "/{listen_id:str}",
        status=204,
        summary="Delete a listen",
        answer="Deleted.",
        problems=(404, 422),
    ),
    likes.get(
        "/{track_id:str}", summary="Whether I like a track", answer="The like.", problems=(404, 422)
    ),
    likes.put(
        "/{track_id:str}",
        summary="Like a track",
        answer="The like.",
        takes_body=False,
        problems=(422,),
    ),
    likes.delete(
        "/{track_id:str}",
        status=204,
        summary="Unlike a track",
        answer="Unliked.",
        problems=(404, 422),
    ),
    *(
        stats.get(
            f"/top-{entity}",
            summary=f"My most played {entity}",
            answer=f"The {entity} with their listen counts and time, most played first.",
            description=RANGE + " ``limit``.",
            problems=(400, 422),
        )
        for entity in ("tracks", "artists", "albums")
    ),
    stats.get(
        "/activity",
        summary="My listens per day, hour, weekday, month or year (UTC)",
        answer="One count per bucket.",
        description=RANGE + " ``by``: ``day``, ``hour``, ``weekday``, ``month``, ``year``.",
        problems=(400, 422),
    ),
    stats.get(
        "/totals",
        summary="My listens, distinct tracks, artists and albums, time listened",
        answer="The totals over the range.",
        description=RANGE,
        problems=(400, 422),
    ),
)
