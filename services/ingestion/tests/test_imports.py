"""Import jobs end to end: upload over HTTP, a worker runs the job against the real catalog,
and the user reads what it did."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.catalog_client import CatalogClient
from medley_core.service_tokens import StaticAuthorization
from medley_ingestion.settings import IngestionSettings
from medley_ingestion.worker import ImportWorkers
from medley_local.pytest_plugin import ServiceDb

from . import samples
from .conftest import Headers, assert_problem, assert_rollups_exact
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
    assert mine.json() == {"items": [], "next_cursor": None}


async def test_an_overlapping_export_adds_only_what_is_new(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    rows = [extended_row(BASE + minutes(10 * i), 200_000, TRACKS[i % 5]) for i in range(8)]
    older = samples.spotify_extended_zip([samples.extended_history(rows[:5])])
    # The later export repeats the last three plays, and one of them twice.
    newer = samples.spotify_extended_zip([samples.extended_history([*rows[2:], rows[7]])])
    first = await import_file(client, workers, as_user(user), older)
    second = await import_file(client, workers, as_user(user), newer)
    assert first["progress"]["listens_imported"] == 5
    assert second["progress"]["listens_imported"] == 3
    assert second["progress"]["duplicates_skipped"] == 4
    assert await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", user) == 8


async def test_an_import_over_live_scrobbles_does_not_double(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    artist, album, title, _, length = TRACKS[0]
    started = BASE - timedelta(milliseconds=length)
    # The scrobbler saw the track start 20 s later than Spotify's arithmetic says.
    scrobbled = await client.post(
        "/1/submit-listens",
        content=samples.json_bytes(
            {
                "listen_type": "single",
                "payload": [
                    {
                        "listened_at": int(started.timestamp()) + 20,
                        "track_metadata": {
                            "artist_name": artist,
                            "track_name": title,
                            "release_name": album,
                        },
                    }
                ],
            }
        ),
        headers=as_user(user),
    )
    assert scrobbled.status_code == 200, scrobbled.text
    # The same track again an hour later from the scrobbler: a genuine, separate listen.
    job = await import_file(
        client,
        workers,
        as_user(user),
        samples.spotify_extended_zip(
            [
                samples.extended_history(
                    [extended_row(BASE, length), extended_row(BASE + minutes(60), length)]
                )
            ]
        ),
    )
    assert job["progress"]["listens_imported"] == 1
    assert job["progress"]["duplicates_skipped"] == 1
    plays = await fresh.fetch(
        "SELECT source FROM plays WHERE user_id = $1 ORDER BY listened_at", user
    )
    # The first stays (the scrobble), the import's copy of it is not stored.
    assert [p["source"] for p in plays] == ["scrobble", "spotify"]


async def test_a_short_track_on_repeat_stays_distinct(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    # A 40-second track played five times in a row: five listens 40 s apart.
    rows = [extended_row(BASE + timedelta(seconds=40 * i), 40_000, TRACKS[2]) for i in range(5)]
    job = await import_file(
        client,
        workers,
        as_user(user),
        samples.spotify_extended_zip([samples.extended_history(rows)]),
    )
    assert job["progress"]["listens_imported"] == 5
    assert job["progress"]["duplicates_skipped"] == 0


async def test_each_format_imports_from_its_real_file(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    rows = [
        ("Radiohead", "OK Computer", "Karma Police", BASE),
        ("Björk", "", "Jóga", BASE + minutes(5)),
    ]
    lastfm = await import_file(
        client, workers, as_user(user), samples.lastfm_headerless(rows), "scrobbles.csv"
    )
    assert (lastfm["status"], lastfm["detected_format"]) == ("completed", "lastfm_csv")
    assert lastfm["progress"]["listens_imported"] == 2
    account = await import_file(
        client,
        workers,
        as_user(user),
        samples.zipped(
            {
                "MyData/StreamingHistory_music_0.json": samples.account_history(
                    [(BASE + minutes(60), "Daft Punk", "One More Time", 320_000)]
                ),
                "MyData/StreamingHistory_podcast_0.json": b"[]",
                "MyData/YourLibrary.json": samples.your_library(TRACKS[:2]),
                "MyData/Userdata.json": b'{"username": "someone"}',
            }
        ),
        "my_spotify_data.zip",
    )
    assert (account["status"], account["detected_format"]) == ("completed", "spotify_account")
    assert account["progress"]["listens_imported"] == 1
    assert account["progress"]["likes_imported"] == 2
    msid = "0cf3a1a5-d6c2-4b43-b64d-8d9b7b9d0c1e"
    listenbrainz = await import_file(
        client,
        workers,
        as_user(user),
        samples.listenbrainz_zip(
            [
                samples.lb_listen(
                    BASE + minutes(120), "Sigur Rós", "Hoppípolla", "Takk...", recording_msid=msid
                )
            ],
            [{"recording_msid": msid, "recording_mbid": None, "score": 1, "created": 1710100000}],
        ),
        "listenbrainz_someone.zip",
    )
    assert (listenbrainz["status"], listenbrainz["detected_format"]) == (
        "completed",
        "listenbrainz",
    )
    assert listenbrainz["progress"]["listens_imported"] == 1
    assert listenbrainz["progress"]["likes_imported"] == 1
    assert await fresh.fetchval("SELECT count(*) FROM likes WHERE user_id = $1", user) == 3


async def failed_job(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    headers: dict[str, str],
    data: bytes,
    filename: str = "upload.zip",
    fmt: str | None = None,
) -> dict[str, Any]:
    job = await import_file(client, workers, headers, data, filename, fmt)
    assert job["status"] == "failed", job
    assert job["progress"]["listens_imported"] == 0
    return job


async def test_a_broken_file_fails_the_job_before_any_listen_is_stored(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    good = samples.extended_history([extended_row(BASE + minutes(i), 100_000) for i in range(3)])
    truncated = samples.extended_history(
        [extended_row(BASE + minutes(60 + i), 100_000) for i in range(3)]
    )
    truncated = truncated[: len(truncated) - 30]
    job = await failed_job(
        client, workers, as_user(user), samples.spotify_extended_zip([good, truncated])
    )
    assert "truncated" in job["error"]
    assert job["error_position"] == (
        "Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_1.json: "
        f"byte {len(truncated)}"
    )
    # The good part was not stored either: importing the fixed export gives one copy.
    assert await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", user) == 0
    events = await fresh.events("ingestion.import.failed")
    assert [e["subject"] for e in events] == [job["id"]]


async def test_bad_uploads_fail_with_the_reason(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = as_user(uuid.uuid4())
    latin1 = "Motörhead,Ace of Spades,Ace of Spades,23 Feb 2016 17:59\n".encode("latin-1")
    job = await failed_job(client, workers, user, latin1, "scrobbles.csv")
    assert job["error"] == "the file is not UTF-8"
    assert job["error_position"] == "scrobbles.csv: byte 3"

    job = await failed_job(client, workers, user, b"id;name\n1;ada\n", "export.csv")
    assert job["error"].startswith("not a listening history Medley knows")

    job = await failed_job(
        client, workers, user, samples.zipped({"../evil.json": b"[]"}), "my_spotify_data.zip"
    )
    assert "path traversal" in job["error"]

    job = await failed_job(
        client, workers, user, samples.zipped({"inner.zip": samples.zipped({"a.json": b"[]"})})
    )
    assert job["error"] == "nested archives are not accepted"

    bomb = samples.zipped({"Streaming_History_Audio_2024.json": b"[" + b" " * (64 << 20) + b"]"})
    job = await failed_job(client, workers, user, bomb)
    assert "zip bomb" in job["error"]

    job = await failed_job(client, workers, user, b"PK\x03\x04 this is no zip at all")
    assert "corrupt" in job["error"]

    # The format named does not replace detection: an upload of something else fails.
    job = await failed_job(
        client,
        workers,
        user,
        samples.lastfm_headerless([("A", "B", "C", BASE)]),
        "scrobbles.csv",
        fmt="spotify_extended",
    )
    assert job["error"] == "the upload is not a spotify_extended export (it holds lastfm_csv)"


async def test_an_unknown_format_or_a_form_without_a_file_is_a_problem(
    client: AsyncTestClient[Any], as_user: Headers, fresh: ServiceDb, settings: Any
) -> None:
    user = as_user(uuid.uuid4())
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    before = sorted(settings.uploads_dir.iterdir())
    response = await upload(client, user, b"[]", fmt="itunes")
    assert assert_problem(response, 422)["field"] == "format"
    response = await client.post(
        "/api/v1/imports/", files={"other": ("x", b"[]", "text/plain")}, headers=user
    )
    assert assert_problem(response, 422)["field"] == "file"
    response = await client.post("/api/v1/imports/", json={"file": "[]"}, headers=user)
    assert_problem(response, 415)
    # Nothing was left behind in the uploads directory by the refused ones.
    assert await fresh.fetchval("SELECT count(*) FROM import_jobs") == 0
    assert sorted(settings.uploads_dir.iterdir()) == before


async def test_an_upload_over_the_limit_is_refused_and_removed(
    tmp_path: Any, settings: Any
) -> None:
    from medley_core.errors import ContentTooLarge
    from medley_ingestion.uploads import receive_upload

    boundary = "xyzzy"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + b"["
        + b"0," * 4096
        + b"0]\r\n"
        + f"--{boundary}--\r\n".encode()
    )

    async def chunks() -> Any:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    with pytest.raises(ContentTooLarge):
        await receive_upload(
            chunks(), f"multipart/form-data; boundary={boundary}", tmp_path, max_bytes=4096
        )
    assert list(tmp_path.iterdir()) == []
    received = await receive_upload(
        chunks(), f"multipart/form-data; boundary={boundary}", tmp_path, max_bytes=1 << 20
    )
    assert received.path.read_bytes() == b"[" + b"0," * 4096 + b"0]"
    assert received.filename == "big.json"


async def test_cancel_a_queued_and_a_running_job(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    as_user: Headers,
    fresh: ServiceDb,
    settings: Any,
) -> None:
    from medley_ingestion.jobs import claim
    from medley_ingestion.pipeline import JobRun

    user = uuid.uuid4()
    queued = (await upload(client, as_user(user), spotify_sample())).json()
    cancelled = await client.post(f"/api/v1/imports/{queued['id']}/cancel", headers=as_user(user))
    assert cancelled.json()["status"] == "cancelled"
    assert await workers.run_one() is None  # nothing left to run
    again = await client.post(f"/api/v1/imports/{queued['id']}/cancel", headers=as_user(user))
    assert_problem(again, 409)

    running = (await upload(client, as_user(user), spotify_sample())).json()
    lease = await claim(settings.database_url, settings.schema_name, "test")
    assert lease is not None
    assert lease.job.id == uuid.UUID(running["id"])
    try:
        asked = await client.post(f"/api/v1/imports/{running['id']}/cancel", headers=as_user(user))
        assert asked.json()["status"] == "running"
        assert asked.json()["cancel_requested"] is True
        status = await JobRun(settings, workers.sessions, workers.catalog, lease).run()
    finally:
        await lease.release()
    assert status == "cancelled"
    seen = (await client.get(f"/api/v1/imports/{running['id']}", headers=as_user(user))).json()
    assert seen["status"] == "cancelled"
    assert await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", user) == 0


async def test_delete_removes_the_upload_and_keeps_the_listens(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    as_user: Headers,
    fresh: ServiceDb,
    settings: Any,
) -> None:
    user = uuid.uuid4()
    job = await import_file(client, workers, as_user(user), spotify_sample())
    path = await fresh.fetchval(
        "SELECT upload_path FROM import_jobs WHERE id = $1", uuid.UUID(job["id"])
    )
    assert (settings.uploads_dir / path).exists()
    response = await client.delete(f"/api/v1/imports/{job['id']}", headers=as_user(user))
    assert response.status_code == 204, response.text
    assert not (settings.uploads_dir / path).exists()
    assert_problem(await client.get(f"/api/v1/imports/{job['id']}", headers=as_user(user)), 404)
    assert await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", user) == 5


async def test_my_imports_come_in_keyset_pages_newest_first(
    client: AsyncTestClient[Any], as_user: Headers, fresh: ServiceDb
) -> None:
    user = as_user(uuid.uuid4())
    ids = [
        (await upload(client, user, spotify_sample(), f"{i}.zip")).json()["id"] for i in range(3)
    ]
    first = (await client.get("/api/v1/imports/?limit=2", headers=user)).json()
    assert [j["id"] for j in first["items"]] == ids[::-1][:2]
    second = (
        await client.get(f"/api/v1/imports/?limit=2&cursor={first['next_cursor']}", headers=user)
    ).json()
    assert [j["id"] for j in second["items"]] == ids[:1]
    assert second["next_cursor"] is None


async def test_a_track_the_catalog_refuses_is_counted_unmatched_and_listed(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    rows = [
        ("Radiohead", "OK Computer", "Lucky", BASE),
        ("Some Band", "", "!!!", BASE + minutes(5)),  # no letters or digits: refused
    ]
    job = await import_file(
        client, workers, as_user(user), samples.lastfm_headerless(rows), "scrobbles.csv"
    )
    assert job["status"] == "completed"
    assert job["progress"]["listens_imported"] == 1
    assert job["progress"]["unmatched"] == 1
    [listed] = job["rejections"]
    assert listed["entry"] == "scrobbles.csv"
    assert listed["position"] == "line 2"
    assert listed["reason"].startswith("unmatched: ")
    refused = await fresh.fetchval(
        "SELECT refused FROM connector_tracks WHERE title = '!!!' AND source = 'lastfm'"
    )
    assert refused


async def test_tracks_resolved_in_several_batches_at_once_each_land_on_their_own(
    client: AsyncTestClient[Any],
    settings: IngestionSettings,
    sessions: async_sessionmaker[AsyncSession],
    catalog_url: str,
    catalog_token: str,
    catalog_db: ServiceDb,
    as_user: Headers,
    fresh: ServiceDb,
) -> None:
    """Batches of 2 candidates, 3 calls in flight: every listen on its own catalog track."""
    small = CatalogClient(catalog_url, StaticAuthorization(catalog_token), batch_size=2)
    workers = ImportWorkers(
        settings.model_copy(update={"resolve_concurrency": 3}), sessions, small, count=0
    )
    user, tag = uuid.uuid4(), uuid.uuid4().hex[:8]
    titles = ["Airbag", "Karma Police", "Exit Music", "Let Down", "Subterranean Homesick Alien"]
    titles += ["Electioneering", "Climbing Up The Walls", "No Surprises", "The Tourist"]
    rows = [
        (f"Batch Artist {n % 3} {tag}", "Album", title, BASE + minutes(5 * n))
        for n, title in enumerate(titles)
    ]
    rows.append(("Some Band", "", "!!!", BASE + minutes(100)))  # the catalog refuses it
    try:
        job = await import_file(
            client, workers, as_user(user), samples.lastfm_headerless(rows), "scrobbles.csv"
        )
    finally:
        await small.aclose()
    assert job["status"] == "completed"
    assert job["progress"]["listens_imported"] == 9
    assert job["progress"]["unmatched"] == 1
    # 10 candidates, 2 a call; the batch holding "!!!" is sent again without it (a 422).
    assert small.calls == 6
    stored = {
        r["title"]: r["track_id"]
        for r in await fresh.fetch(
            "SELECT c.title, p.track_id FROM plays p "
            "JOIN connector_tracks c ON c.id = p.connector_track_id WHERE p.user_id = $1",
            user,
        )
    }
    in_catalog = {
        r["title"]: r["id"]
        for r in await catalog_db.fetch(
            "SELECT title, id FROM tracks WHERE id = ANY($1::uuid[])", list(stored.values())
        )
    }
    assert sorted(stored) == sorted(titles)
    assert stored == in_catalog
    await assert_rollups_exact(fresh)
