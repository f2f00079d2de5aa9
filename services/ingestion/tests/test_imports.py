"""Import jobs end to end: upload over HTTP, a worker runs the job against the real catalog,
and the user reads what it did."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from medley_ingestion.worker import ImportWorkers
from medley_local.pytest_plugin import ServiceDb

from . import samples
from .conftest import Headers, assert_problem
from .samples import BASE, TRACKS, extended_row, minutes


async def upload(
    client: AsyncTestClient[Any],
    headers: dict[str, str],
    data: bytes,
    filename: str = "my_spotify_data.zip",
    fmt: str | None = None,
) -> Any:
    return await client.post(
        "/api/v1/imports/",
        files={"file": (filename, data, "application/octet-stream")},
        data={"format": fmt} if fmt else None,
        headers=headers,
    )


async def import_file(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    headers: dict[str, str],
    data: bytes,
    filename: str = "my_spotify_data.zip",
    fmt: str | None = None,
) -> dict[str, Any]:
    """Upload, run the job to its end, and return the job as the user sees it."""
    response = await upload(client, headers, data, filename, fmt)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert await workers.run_one() is not None
    seen = await client.get(f"/api/v1/imports/{job['id']}", headers=headers)
    assert seen.status_code == 200, seen.text
    body: dict[str, Any] = seen.json()
    return body


def spotify_sample() -> bytes:
    """Two parts of an extended history with every quirk the counting rule meets."""
    part0 = [
        extended_row(BASE, 383_066, TRACKS[0]),  # played to the end
        extended_row(BASE + minutes(10), 45_000, TRACKS[1], reason_end="fwdbtn"),  # ≥ 30 s
        extended_row(BASE + minutes(11), 29_999, TRACKS[2], reason_end="fwdbtn"),  # too short
        extended_row(BASE + minutes(12), 12_000, TRACKS[2], reason_end="trackdone"),  # to its end
        extended_row(BASE + minutes(20), 200_000, TRACKS[3], incognito=True),
        extended_row(BASE + minutes(30), 900_000, None, episode=True),
        extended_row(BASE + minutes(40), 900_000, None, audiobook=True),
    ]
    part1 = [
        extended_row(BASE + minutes(60), 30_000, TRACKS[4], reason_end="endplay"),  # exactly 30 s
        extended_row(BASE + minutes(70), 185_733, TRACKS[4]),
        {"ts": "not a time", "ms_played": 1000, "master_metadata_track_name": "x"},
    ]
    return samples.spotify_extended_zip(
        [samples.extended_history(part0), samples.extended_history(part1)]
    )


async def test_a_spotify_extended_history_is_imported_with_every_row_counted(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    job = await import_file(client, workers, as_user(user), spotify_sample())
    assert job["status"] == "completed", job
    assert job["detected_format"] == "spotify_extended"
    assert job["progress"] == {
        "bytes_read": job["progress"]["bytes_read"],
        "records_read": 10,
        "listens_imported": 5,
        "likes_imported": 0,
        "duplicates_skipped": 0,
        "too_short_skipped": 1,
        "incognito_skipped": 1,
        "not_music_skipped": 2,
        "unmatched": 0,
        "rejected": 1,
    }
    assert job["progress"]["bytes_read"] > 0
    assert job["rejections"] == [
        {
            "entry": "Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_1.json",
            "position": "index 2",
            "reason": "ts is missing or not an ISO 8601 time",
        }
    ]
    # A listen's time is when playback started: ts - ms_played, in UTC.
    plays = await fresh.fetch(
        "SELECT listened_at, ms_played, source FROM plays WHERE user_id = $1 ORDER BY listened_at",
        user,
    )
    assert [(p["listened_at"], p["ms_played"]) for p in plays] == [
        (BASE - timedelta(milliseconds=383_066), 383_066),
        (BASE + minutes(10) - timedelta(milliseconds=45_000), 45_000),
        (BASE + minutes(12) - timedelta(milliseconds=12_000), 12_000),
        (BASE + minutes(60) - timedelta(milliseconds=30_000), 30_000),
        (BASE + minutes(70) - timedelta(milliseconds=185_733), 185_733),
    ]
    assert {p["source"] for p in plays} == {"spotify"}


async def test_re_importing_the_same_file_adds_nothing(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    first = await import_file(client, workers, as_user(user), spotify_sample())
    again = await import_file(client, workers, as_user(user), spotify_sample())
    assert first["progress"]["listens_imported"] == 5
    assert again["status"] == "completed"
    assert again["progress"]["listens_imported"] == 0
    assert again["progress"]["duplicates_skipped"] == 5
    assert await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", user) == 5


async def test_another_users_job_is_not_found(
    client: AsyncTestClient[Any], as_user: Headers, fresh: ServiceDb
) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    response = await upload(client, as_user(owner), spotify_sample())
    job_id = response.json()["id"]
    for method, path in (
        ("GET", f"/api/v1/imports/{job_id}"),
        ("POST", f"/api/v1/imports/{job_id}/cancel"),
        ("DELETE", f"/api/v1/imports/{job_id}"),
    ):
        answer = await client.request(method, path, headers=as_user(other))
        assert_problem(answer, 404)
    mine = await client.get("/api/v1/imports/", headers=as_user(other))
    assert mine.json() == {"items": [], "next": None}
