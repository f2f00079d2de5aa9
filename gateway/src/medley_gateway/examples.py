"""Examples of the main request bodies and answers, put into the gateway's OpenAPI document.

They live here, in the gateway's document layer, not in the services' schemas: they show the
public API as a client meets it (the gateway's paths, one story told across four services:
Ada registers, logs in, imports her Spotify history, makes a playlist of OK Computer), the
services' schemas belong to their teams, and one table is easy to keep consistent. Each is
set as the ``example`` of its media type after the document is composed from the upstreams'
contracts, and a test validates every example in the document against the schema beside it
(``gateway/tests/test_openapi_examples.py``), so a service changing a shape breaks the test,
not the docs page silently. :func:`add_examples` refuses an operation, status or media type
the document does not have.
"""

from __future__ import annotations

import copy
from typing import Any

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

ADA = "4f1c2b7e-8a3d-4e5f-9b6a-1c2d3e4f5a6b"
RADIOHEAD = "0b3c8f5e-2d4a-4c6b-8e9f-7a1b2c3d4e5f"
OK_COMPUTER = "6d2e9a41-5b7c-4f8d-a1e2-3b4c5d6e7f80"
AIRBAG = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
PARANOID_ANDROID = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
LUCKY = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
ALT_ROCK = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
PLAYLIST = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
SMART = "8f7e6d5c-4b3a-4291-8a0f-9e8d7c6b5a49"
IMPORT = "5b4a3928-1706-4f5e-8d4c-3b2a19087f6e"
LISTEN = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
SCROBBLER_ID = "d4c3b2a1-f6e5-4d7c-9b8a-7f6e5d4c3b2a"
IMAGE = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"

NOW = "2026-11-30T20:15:04Z"
EARLIER = "2026-11-02T09:41:17Z"
JWT = (  # made up: signed by no key
    "eyJhbGciOiJFZERTQSIsImtpZCI6Im1lZGxleS0xIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiI0ZjFjMmI3ZS04YTNkLTRlNWYtOWI2YS0xYzJkM2U0ZjVhNmIiLCJleHAiOjE3OTYwNjk2MDR9."
    "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

ACCOUNT = {
    "id": ADA,
    "username": "ada",
    "email": "ada@example.com",
    "display_name": "Ada Lovelace",
    "roles": [],
    "created_at": EARLIER,
}
CREDIT = {"artist_id": RADIOHEAD, "name": "Radiohead", "join_phrase": "", "position": 0}
GENRE = {"id": ALT_ROCK, "name": "Alternative rock", "slug": "alternative-rock"}
COVER = "https://images.example.com/albums/ok-computer-600.jpg"
DESCRIPTION = {
    "id": "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f",
    "language": "en",
    "source": "editorial",
    "text": "The third studio album by Radiohead, released in 1997.",
    "updated_at": EARLIER,
}
ALBUM_OF_TRACK = {
    "id": OK_COMPUTER,
    "title": "OK Computer",
    "album_type": "album",
    "artist_names": "Radiohead",
    "cover_url": COVER,
    "release_year": 1997,
}
TRACK: dict[str, Any] = {
    "id": AIRBAG,
    "title": "Airbag",
    "artist_names": "Radiohead",
    "album_id": OK_COMPUTER,
    "album": ALBUM_OF_TRACK,
    "primary_artist_id": RADIOHEAD,
    "duration_ms": 284_586,
    "track_number": 1,
    "disc_number": 1,
    "explicit": False,
    "play_count": 12_408_311,
    "credits": [CREDIT],
    "genres": [GENRE],
    "external_ids": [{"namespace": "isrc", "value": "GBAYE9700185"}],
    "images": [],
    "descriptions": [],
    "source": "musicbrainz",
    "redirected_from": None,
    "created_at": EARLIER,
    "updated_at": EARLIER,
}
ALBUM: dict[str, Any] = {
    "id": OK_COMPUTER,
    "title": "OK Computer",
    "album_type": "album",
    "artist_names": "Radiohead",
    "primary_artist_id": RADIOHEAD,
    "cover_url": COVER,
    "release_date": "1997-05-21",
    "release_year": 1997,
    "total_tracks": 12,
    "track_count": 2,
    "tracks": [
        {
            "id": AIRBAG,
            "title": "Airbag",
            "artist_names": "Radiohead",
            "track_number": 1,
            "disc_number": 1,
            "duration_ms": 284_586,
            "explicit": False,
            "play_count": 12_408_311,
        },
        {
            "id": PARANOID_ANDROID,
            "title": "Paranoid Android",
            "artist_names": "Radiohead",
            "track_number": 2,
            "disc_number": 1,
            "duration_ms": 383_493,
            "explicit": False,
            "play_count": 40_112_907,
        },
    ],
    "credits": [CREDIT],
    "genres": [GENRE],
    "external_ids": [{"namespace": "upc", "value": "724385522925"}],
    "images": [
        {
            "id": IMAGE,
            "url": COVER,
            "kind": "cover",
            "width": 600,
            "height": 600,
            "source": "coverartarchive",
        }
    ],
    "descriptions": [DESCRIPTION],
    "source": "musicbrainz",
    "redirected_from": None,
    "created_at": EARLIER,
    "updated_at": EARLIER,
}
ARTIST: dict[str, Any] = {
    "id": RADIOHEAD,
    "name": "Radiohead",
    "sort_name": "Radiohead",
    "album_count": 9,
    "track_count": 164,
    "genres": [GENRE],
    "external_ids": [{"namespace": "musicbrainz", "value": "a74b1b7f-71a5-4011-9441-d0b5e4122711"}],
    "images": [],
    "descriptions": [],
    "source": "musicbrainz",
    "redirected_from": None,
    "created_at": EARLIER,
    "updated_at": EARLIER,
}
IMPORT_JOB: dict[str, Any] = {
    "id": IMPORT,
    "status": "queued",
    "filename": "my_spotify_data.zip",
    "format": None,
    "detected_format": None,
    "upload_bytes": 18_734_112,
    "upload_kept": True,
    "attempts": 0,
    "cancel_requested": False,
    "progress": {
        "bytes_read": 0,
        "records_read": 0,
        "listens_imported": 0,
        "likes_imported": 0,
        "duplicates_skipped": 0,
        "too_short_skipped": 0,
        "incognito_skipped": 0,
        "not_music_skipped": 0,
        "rejected": 0,
        "unmatched": 0,
    },
    "error": None,
    "error_position": None,
    "created_at": NOW,
    "started_at": None,
    "finished_at": None,
}
LISTEN_TRACK = {
    "id": AIRBAG,
    "title": "Airbag",
    "artist_names": "Radiohead",
    "album_id": OK_COMPUTER,
    "album_title": "OK Computer",
    "duration_ms": 284_586,
    "available": True,
}
LISTENS = {
    "items": [
        {
            "id": LISTEN,
            "listened_at": "2026-11-30T19:58:40Z",
            "source": "spotify",
            "client": None,
            "ms_played": 284_586,
            "import_id": IMPORT,
            "source_track": {"title": "Airbag", "artist": "Radiohead", "album": "OK Computer"},
            "track": LISTEN_TRACK,
            "details": TRACK,
        }
    ],
    "next_cursor": "eyJ0IjoiMjAyNi0xMS0zMFQxOTo1ODo0MFoiLCJpZCI6ImMxZDJlM2Y0In0",
    "meta": {"degraded": []},
}
PLAYLIST_OUT = {
    "id": PLAYLIST,
    "owner_id": ADA,
    "name": "Sunday morning",
    "description": None,
    "visibility": "private",
    "collaborative": False,
    "cover_url": None,
    "role": "owner",
    "snapshot_id": "1",
    "track_count": 0,
    "duration_ms": 0,
    "created_at": NOW,
    "updated_at": NOW,
    "deleted_at": None,
}
RULES = {
    "all": [{"is": {"loved": True}}, {"inTheLast": {"lastPlayed": 90}}],
    "sort": "-playCount",
}

# The composed reads: the catalog's album and artist, with the caller's plays, saves and
# playlists (``meta.degraded`` empty: every upstream answered).
MY_ALBUM = {
    **ALBUM,
    "tracks": [
        {**ALBUM["tracks"][0], "my_play_count": 31, "my_last_played_at": "2026-11-30T19:58:40Z"},
        {**ALBUM["tracks"][1], "my_play_count": 0, "my_last_played_at": None},
    ],
    "saved": True,
    "in_my_playlists": [
        {"id": PLAYLIST, "name": "Sunday morning", "updated_at": NOW, "album_items": 2}
    ],
    "meta": {"degraded": []},
}
MY_ARTIST = {
    **ARTIST,
    "albums": [
        {
            key: ALBUM[key]
            for key in (
                "id",
                "title",
                "album_type",
                "artist_names",
                "primary_artist_id",
                "cover_url",
                "release_date",
                "release_year",
                "total_tracks",
                "source",
                "created_at",
                "updated_at",
            )
        }
    ],
    "my_top_tracks": [
        {
            "track_id": AIRBAG,
            "title": "Airbag",
            "artist_names": "Radiohead",
            "album_id": OK_COMPUTER,
            "album_title": "OK Computer",
            "play_count": 31,
            "ms_played": 8_822_166,
        }
    ],
    "meta": {"degraded": []},
}

#: ``METHOD /path`` → the examples of its request body (``request``, by media type) and of
#: its answers (by status).
EXAMPLES: dict[str, dict[str, Any]] = {
    "POST /api/v1/auth/register": {
        "request": {
            JSON: {
                "username": "ada",
                "email": "ada@example.com",
                "password": "correct horse battery staple",
                "display_name": "Ada Lovelace",
            }
        },
        "responses": {201: ACCOUNT},
    },
    "POST /api/v1/auth/login": {
        "request": {JSON: {"login": "ada@example.com", "password": "correct horse battery staple"}},
        "responses": {
            200: {
                "access_token": JWT,
                "refresh_token": "rt_Jx3vQm9Zk2LwP7sT0bNcYf4RhE6aUd1G",
                "token_type": "Bearer",
                "expires_in": 900,
            }
        },
    },
    "POST /api/v1/auth/token": {
        "request": {
            JSON: {
                "grant_type": "client_credentials",
                "client_id": "medley-lastfm-bridge",
                "client_secret": "cs_Q2f8Lx0pVt7sKm4Zr9WbYe3Nd6Hj1Ca5",
                "scope": "api-tokens:resolve",
            },
            FORM: {
                "grant_type": "client_credentials",
                "client_id": "medley-lastfm-bridge",
                "client_secret": "cs_Q2f8Lx0pVt7sKm4Zr9WbYe3Nd6Hj1Ca5",
                "scope": "api-tokens:resolve",
            },
        },
        "responses": {
            200: {
                "access_token": JWT,
                "token_type": "Bearer",
                "expires_in": 900,
                "scope": "api-tokens:resolve",
            }
        },
    },
    "GET /api/v1/me": {"responses": {200: ACCOUNT}},
    "PATCH /api/v1/me": {
        "request": {JSON: {"display_name": "Augusta Ada King"}},
        "responses": {200: {**ACCOUNT, "display_name": "Augusta Ada King"}},
    },
    "POST /api/v1/me/api-tokens": {
        "request": {JSON: {"name": "Pano Scrobbler on my phone"}},
        "responses": {
            201: {
                "id": SCROBBLER_ID,
                "name": "Pano Scrobbler on my phone",
                "prefix": "mdl_7Hq2xKpL",
                "token": "mdl_7Hq2xKpLw3Vn8Rz1Tc6Ym0Fb4Sd9Ge5J",
                "created_at": NOW,
                "last_used_at": None,
            }
        },
    },
    "GET /api/v1/catalog/tracks/{entity_id}": {"responses": {200: TRACK}},
    "GET /api/v1/catalog/albums/{entity_id}": {"responses": {200: ALBUM}},
    "GET /api/v1/catalog/artists/{entity_id}": {"responses": {200: ARTIST}},
    "GET /api/v1/albums/{album_id}": {"responses": {200: MY_ALBUM}},
    "GET /api/v1/artists/{artist_id}": {"responses": {200: MY_ARTIST}},
    "POST /api/v1/imports": {"responses": {202: IMPORT_JOB}},
    "GET /api/v1/imports/{job_id}": {
        "responses": {
            200: {
                **IMPORT_JOB,
                "status": "running",
                "detected_format": "spotify-extended",
                "attempts": 1,
                "started_at": NOW,
                "progress": {
                    **IMPORT_JOB["progress"],
                    "bytes_read": 6_291_456,
                    "records_read": 41_207,
                    "listens_imported": 39_880,
                    "duplicates_skipped": 512,
                    "too_short_skipped": 815,
                },
                "rejections": [],
            }
        }
    },
    "GET /api/v1/me/listens": {"responses": {200: LISTENS}},
    "POST /api/v1/playlists": {
        "request": {JSON: {"name": "Sunday morning", "visibility": "private"}},
        "responses": {201: PLAYLIST_OUT},
    },
    "POST /api/v1/playlists/{playlist_id}/items": {
        "request": {JSON: {"track_ids": [AIRBAG, PARANOID_ANDROID, LUCKY], "snapshot_id": "1"}},
        "responses": {201: {"snapshot_id": "2"}},
    },
    "PATCH /api/v1/playlists/{playlist_id}/items": {
        # Paranoid Android (at 1) to the top.
        "request": {
            JSON: {"range_start": 1, "range_length": 1, "insert_before": 0, "snapshot_id": "2"}
        },
        "responses": {200: {"snapshot_id": "3"}},
    },
    "GET /api/v1/me/collections/{kinds}": {
        "responses": {
            200: {
                "items": [
                    {
                        "id": OK_COMPUTER,
                        "status": "available",
                        "saved_at": NOW,
                        "title": "OK Computer",
                        "artist_names": "Radiohead",
                        "cover_url": COVER,
                        "release_year": 1997,
                    }
                ],
                "next_cursor": None,
            }
        }
    },
    "PUT /api/v1/me/collections/{kinds}/{entity_id}": {
        "responses": {200: {"id": OK_COMPUTER, "saved_at": NOW}}
    },
    "POST /api/v1/smart-playlists": {
        "request": {JSON: {"name": "Loved lately", "rules": RULES}},
        "responses": {
            201: {
                "id": SMART,
                "owner_id": ADA,
                "name": "Loved lately",
                "description": None,
                "rules": RULES,
                "created_at": NOW,
                "updated_at": NOW,
            }
        },
    },
}


def add_examples(
    document: dict[str, Any], examples: dict[str, dict[str, Any]] = EXAMPLES
) -> dict[str, Any]:
    """``document`` with each example set on its media type (a copy of it)."""
    paths = document.get("paths", {})
    for key, parts in examples.items():
        method, _, path = key.partition(" ")
        operation = paths[path][method.lower()]
        for media_type, value in parts.get("request", {}).items():
            content = operation["requestBody"]["content"][media_type]
            content["example"] = copy.deepcopy(value)
        for status, value in parts.get("responses", {}).items():
            content = operation["responses"][str(status)]["content"][JSON]
            content["example"] = copy.deepcopy(value)
    return document
