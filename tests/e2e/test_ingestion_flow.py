"""Ingestion through the gateway, every service a real process: an export uploaded (streamed
through), imported by ingestion's worker with tracks resolved by the catalog under a service
token from users, and read back as listens and stats."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import liblistenbrainz
import liblistenbrainz.errors
import pytest
from e2e_helpers import assert_problem, login, new_account, register

from medley_core.testing.tokens import bearer


def spotify_export(plays: int) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        {
            "ts": (now - timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ms_played": 200_000,
            "master_metadata_track_name": f"E2E Song {i % 3}",
            "master_metadata_album_artist_name": "E2E Band",
            "master_metadata_album_album_name": "E2E Album",
            "spotify_track_uri": None,
            "episode_name": None,
            "reason_end": "trackdone",
            "incognito_mode": False,
        }
        for i in range(plays)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "Spotify Extended Streaming History/Streaming_History_Audio_2024.json",
            json.dumps(rows, indent=2),
        )
    return buffer.getvalue()


async def test_an_export_imported_through_the_gateway(api: httpx.AsyncClient) -> None:
    account = new_account()
    await register(api, account)
    user = bearer((await login(api, account["username"]))["access_token"])
    assert_problem(await api.get("/api/v1/imports"), 401)

    response = await api.post(
        "/api/v1/imports",
        files={"file": ("my_spotify_data.zip", spotify_export(12), "application/zip")},
        headers=user,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    job: dict[str, Any] = {}
    for _ in range(300):
        job = (await api.get(f"/api/v1/imports/{job_id}", headers=user)).json()
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.2)
    assert job["status"] == "completed", job
    assert job["progress"]["listens_imported"] == 12

    listens = (await api.get("/api/v1/me/listens", params={"limit": 5}, headers=user)).json()
    assert len(listens["items"]) == 5
    assert listens["next_cursor"]
    assert listens["items"][0]["track"]["artist_names"] == "E2E Band"
    top = (await api.get("/api/v1/me/stats/top-tracks", headers=user)).json()
    assert [item["listen_count"] for item in top["items"]] == [4, 4, 4]
    # Another user sees none of it.
    other = new_account()
    await register(api, other)
    stranger = bearer((await login(api, other["username"]))["access_token"])
    assert_problem(await api.get(f"/api/v1/imports/{job_id}", headers=stranger), 404)


async def test_a_listenbrainz_client_works_unchanged(
    api: httpx.AsyncClient, gateway_url: str
) -> None:
    """liblistenbrainz (from PyPI) pointed at Medley's URL: it validates its token (reading
    ``valid``), submits, reads back listens, playing-now and stats, and follows the rate
    limit headers."""
    account = new_account()
    await register(api, account)
    access = bearer((await login(api, account["username"]))["access_token"])
    created = await api.post("/api/v1/me/api-tokens", json={"name": "scrobbler"}, headers=access)
    assert created.status_code == 201, created.text
    api_token = created.json()["token"]
    username = account["username"]

    def scrobble() -> dict[str, Any]:
        client = liblistenbrainz.ListenBrainz(api_base_url=gateway_url)
        client.set_auth_token(api_token)  # validate-token: "valid" must be true
        started = int(time.time()) - 600
        client.submit_multiple_listens(
            [
                liblistenbrainz.Listen(
                    track_name=f"LB Song {i}",
                    artist_name="LB Band",
                    release_name="LB Album",
                    listened_at=started + 200 * i,
                    additional_info={"submission_client": "e2e"},
                )
                for i in range(3)
            ]
        )
        client.submit_single_listen(
            liblistenbrainz.Listen(
                track_name="LB Song 0", artist_name="LB Band", listened_at=started
            )
        )  # a retry of one already stored: nothing added
        client.submit_playing_now(
            liblistenbrainz.Listen(track_name="LB Song 9", artist_name="LB Band")
        )
        listens = client.get_listens(username)
        playing = client.get_playing_now(username)
        artists = client.get_user_artists(username, time_range="this_week")
        return {
            "listens": [(x.track_name, x.artist_name) for x in listens],
            "playing": playing.track_name if playing else None,
            "artists": [
                (a["artist_name"], a["listen_count"]) for a in artists["payload"]["artists"]
            ],
            "remaining": client.remaining_requests,
        }

    seen = await asyncio.to_thread(scrobble)
    assert seen["listens"] == [(f"LB Song {i}", "LB Band") for i in (2, 1, 0)]
    assert seen["playing"] == "LB Song 9"
    assert seen["artists"] == [("LB Band", 3)]
    assert seen["remaining"] is not None

    def with_a_bad_token() -> None:
        client = liblistenbrainz.ListenBrainz(api_base_url=gateway_url)
        client.set_auth_token("not-a-medley-token")

    with pytest.raises(liblistenbrainz.errors.InvalidAuthTokenException):
        await asyncio.to_thread(with_a_bad_token)
