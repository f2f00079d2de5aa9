"""One public API through the gateway, every part real (``medley_stack``): pages carry a
``Link`` to the next at the gateway's own path, reads carry an ``ETag`` (304 when it still
holds), creations a ``Location`` the client can read, and every answer the rate limit's
``RateLimit-*`` fields."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime

import httpx
from e2e_helpers import login, new_account, register

from medley_core.testing.tokens import bearer

CATALOG = "/api/v1/catalog"
ADMIN_CATALOG = "/api/v1/admin/catalog"


async def test_pages_link_to_the_next_at_the_public_path(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for _ in range(3):
        body = {"name": f"Linked {uuid.uuid4().hex[:8]}"}
        created = await api.post(f"{ADMIN_CATALOG}/artists", json=body, headers=admin_headers)
        assert created.status_code == 201, created.text
    first = await api.get(f"{CATALOG}/artists", params={"limit": 2})
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor
    link = first.headers["link"]
    assert link.endswith('; rel="next"')
    target = link[1 : link.index(">")]
    # The gateway's path (not the catalog's own /artists), the client's query kept.
    assert target.startswith(f"{CATALOG}/artists?")
    assert "limit=2" in target
    assert f"cursor={cursor}" in target
    following = await api.get(target)
    assert following.status_code == 200, following.text
    seen = {item["id"] for item in first.json()["items"]}
    assert seen.isdisjoint(item["id"] for item in following.json()["items"])


async def test_creations_have_a_location_and_reads_an_etag(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"name": f"Located {uuid.uuid4().hex[:8]}"}
    created = await api.post(f"{ADMIN_CATALOG}/artists", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    artist_id = created.json()["id"]
    assert created.headers["location"] == f"{CATALOG}/artists/{artist_id}"

    read = await api.get(created.headers["location"])
    assert read.status_code == 200
    etag = read.headers["etag"]
    again = await api.get(created.headers["location"], headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    renamed = await api.patch(
        f"{ADMIN_CATALOG}/artists/{artist_id}", json={"name": "Renamed"}, headers=admin_headers
    )
    assert renamed.status_code == 200, renamed.text
    changed = await api.get(created.headers["location"], headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def test_my_profile_and_playlists_have_etags_and_locations(api: httpx.AsyncClient) -> None:
    account = new_account()
    await register(api, account)
    me = bearer((await login(api, account["username"]))["access_token"])
    profile = await api.get("/api/v1/me", headers=me)
    assert profile.status_code == 200
    assert int(profile.headers["RateLimit-Limit"]) >= 1
    assert "RateLimit-Remaining" in profile.headers
    unchanged = await api.get(
        "/api/v1/me", headers={**me, "If-None-Match": profile.headers["etag"]}
    )
    assert unchanged.status_code == 304

    playlist = await api.post("/api/v1/playlists", json={"name": "Located"}, headers=me)
    assert playlist.status_code == 201, playlist.text
    assert playlist.headers["location"] == f"/api/v1/playlists/{playlist.json()['id']}"
    assert (await api.get(playlist.headers["location"], headers=me)).status_code == 200


async def test_an_account_an_api_token_and_an_import_have_a_location(
    api: httpx.AsyncClient,
) -> None:
    account = new_account()
    registered = await api.post("/api/v1/auth/register", json=account)
    assert registered.status_code == 201, registered.text
    # The account's address is its own (read once logged in): no route reads an account by
    # id but the administrators' list.
    assert registered.headers["location"] == "/api/v1/me"
    me = bearer((await login(api, account["username"]))["access_token"])
    profile = await api.get(registered.headers["location"], headers=me)
    assert profile.status_code == 200
    assert profile.json()["id"] == registered.json()["id"]

    created = await api.post("/api/v1/me/api-tokens", json={"name": "scrobbler"}, headers=me)
    assert created.status_code == 201, created.text
    token = created.json()
    assert created.headers["location"] == f"/api/v1/me/api-tokens/{token['id']}"
    read = await api.get(created.headers["location"], headers=me)
    assert read.status_code == 200, read.text
    assert read.json()["name"] == "scrobbler"
    assert "token" not in read.json()  # the secret was shown once, at its creation

    export = io.BytesIO()
    play = {
        "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ms_played": 200_000,
        "master_metadata_track_name": "Located Song",
        "master_metadata_album_artist_name": "Located Band",
        "master_metadata_album_album_name": "Located Album",
        "reason_end": "trackdone",
        "incognito_mode": False,
    }
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("Streaming_History_Audio_2024.json", json.dumps([play]))
    queued = await api.post(
        "/api/v1/imports",
        files={"file": ("my_spotify_data.zip", export.getvalue(), "application/zip")},
        headers=me,
    )
    assert queued.status_code == 202, queued.text
    assert queued.headers["location"] == f"/api/v1/imports/{queued.json()['id']}"
    job = await api.get(queued.headers["location"], headers=me)
    assert job.status_code == 200
    assert job.json()["id"] == queued.json()["id"]
