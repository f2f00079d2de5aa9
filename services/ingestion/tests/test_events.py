"""Ingestion and the other contexts' events, over real NATS: the catalog's tracks projected,
its merges re-pointing plays and likes, its deletes shown as unavailable; a user's erasure;
what ingestion publishes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from medley_contracts.users import USER_DELETED, USER_REGISTERED, UserDeletedV1, UserRegisteredV1
from medley_core.ids import utcnow
from medley_ingestion.settings import IngestionSettings
from medley_ingestion.worker import ImportWorkers
from medley_local.pytest_plugin import ServiceDb

from . import samples
from .conftest import Headers, Tokens, assert_rollups_exact, eventually, publish_event
from .samples import BASE, TRACKS, extended_row, minutes
from .test_imports import import_file, spotify_sample


def data(event: Any) -> Any:
    """An outbox row's payload (asyncpg gives JSON as text)."""
    return json.loads(event["data"])


async def submit(
    client: AsyncTestClient[Any], headers: dict[str, str], listens: list[dict[str, Any]]
) -> None:
    response = await client.post(
        "/1/submit-listens",
        content=samples.json_bytes({"listen_type": "import", "payload": listens}),
        headers=headers,
    )
    assert response.status_code == 200, response.text


def scrobble(when: Any, artist: str, title: str, album: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"artist_name": artist, "track_name": title}
    if album:
        metadata["release_name"] = album
    return {"listened_at": int(when.timestamp()), "track_metadata": metadata}


async def test_catalog_tracks_are_projected_from_the_catalogs_events(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    await import_file(client, workers, as_user(user), spotify_sample())
    # Provisional rows at once, the catalog's own snapshots once its events arrive.
    track_ids = [r["track_id"] for r in await fresh.fetch("SELECT DISTINCT track_id FROM plays")]

    async def projected() -> bool:
        rows = await fresh.fetch(
            "SELECT provisional, artist_id FROM tracks WHERE track_id = ANY($1::uuid[])", track_ids
        )
        return len(rows) == len(track_ids) and not any(r["provisional"] for r in rows)

    await eventually(projected)
    rows = await fresh.fetch("SELECT title, artist_name, album_title FROM tracks ORDER BY title")
    assert ("Paranoid Android", "Radiohead", "OK Computer") in [tuple(r) for r in rows]


async def track_ids_by_title(fresh: ServiceDb, user: uuid.UUID) -> dict[str, uuid.UUID]:
    """The catalog track each title the user played was resolved to."""
    rows = await fresh.fetch(
        "SELECT DISTINCT c.title, p.track_id FROM plays p "
        "JOIN connector_tracks c ON c.id = p.connector_track_id WHERE p.user_id = $1",
        user,
    )
    return {r["title"]: r["track_id"] for r in rows}


async def merge_in_the_catalog(
    catalog_url: str, tokens: Tokens, gone: uuid.UUID, kept: uuid.UUID, fresh: ServiceDb
) -> None:
    """``gone`` merged into ``kept`` by the catalog; back once ingestion repointed its plays."""
    async with httpx.AsyncClient(base_url=catalog_url) as catalog:
        merged = await catalog.post(
            f"/tracks/{gone}/merge", json={"into": str(kept)}, headers=tokens.admin()
        )
        assert merged.status_code == 200, merged.text

    async def repointed() -> bool:
        return not await fresh.fetchval("SELECT count(*) FROM plays WHERE track_id = $1", gone)

    await eventually(repointed)


async def top_artists(
    client: AsyncTestClient[Any], headers: dict[str, str]
) -> list[tuple[str, int]]:
    """The caller's all-time top artists over HTTP: (name, listens)."""
    answer = await client.get(
        "/api/v1/me/stats/top-artists", params={"range": "all_time"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return [(i["artist_name"], i["listen_count"]) for i in answer.json()["items"]]


async def test_a_merge_repoints_plays_and_likes_and_merges_the_doubles(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    as_user: Headers,
    tokens: Tokens,
    catalog_url: str,
    fresh: ServiceDb,
) -> None:
    user = uuid.uuid4()
    tag = uuid.uuid4().hex[:6]
    # Two catalog tracks that are really one song, spelt apart by two sources.
    await submit(
        client,
        as_user(user),
        [
            scrobble(BASE, f"Merge Band {tag}", "Song Kept"),
            scrobble(BASE + minutes(30), f"Merge Band {tag}", "Song Kept"),
        ],
    )
    gone_rows = [
        extended_row(
            BASE + timedelta(seconds=200),
            180_000,
            (f"Merge Band {tag}", "LP", "Song Gone", "", 180_000),
        ),
        extended_row(
            BASE + minutes(90), 180_000, (f"Merge Band {tag}", "LP", "Song Gone", "", 180_000)
        ),
    ]
    for row in gone_rows:
        row["spotify_track_uri"] = None
    await import_file(
        client,
        workers,
        as_user(user),
        samples.spotify_extended_zip([samples.extended_history(gone_rows)]),
    )
    by_title = await track_ids_by_title(fresh, user)
    kept, gone = by_title["Song Kept"], by_title["Song Gone"]
    assert kept != gone
    liked = await client.put(f"/api/v1/me/likes/{gone}", headers=as_user(user))
    assert liked.status_code == 200, liked.text

    await merge_in_the_catalog(catalog_url, tokens, gone, kept, fresh)
    plays = await fresh.fetch(
        "SELECT listened_at, source FROM plays WHERE user_id = $1 ORDER BY listened_at", user
    )
    # The Spotify play 20 s after the scrobble of the same song is the same listen: merged.
    assert [p["source"] for p in plays] == ["scrobble", "scrobble", "spotify"]
    assert (
        await fresh.fetchval(
            "SELECT plays FROM user_track_totals WHERE user_id = $1 AND track_id = $2", user, kept
        )
        == 3
    )
    assert (
        await fresh.fetchval("SELECT count(*) FROM user_track_totals WHERE track_id = $1", gone)
        == 0
    )
    assert await fresh.fetchval("SELECT track_id FROM likes WHERE user_id = $1", user) == kept
    assert await fresh.fetchval("SELECT merged_into FROM tracks WHERE track_id = $1", gone) == kept
    await assert_rollups_exact(fresh)


async def test_a_track_credited_to_another_artist_moves_its_listens_in_top_artists(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    as_user: Headers,
    tokens: Tokens,
    catalog_url: str,
    fresh: ServiceDb,
) -> None:
    user = uuid.uuid4()
    tag = uuid.uuid4().hex[:6]
    first, second = f"First Band {tag}", f"Second Band {tag}"
    rows = [
        extended_row(BASE + minutes(10 * i), 150_000, (first, "LP", f"Song {i % 2}", "", 150_000))
        for i in range(6)
    ]
    await import_file(
        client,
        workers,
        as_user(user),
        samples.spotify_extended_zip([samples.extended_history(rows)]),
    )
    moved = await fresh.fetchval(
        "SELECT p.track_id FROM plays p JOIN connector_tracks c ON c.id = p.connector_track_id "
        "WHERE p.user_id = $1 AND c.title = 'Song 1' LIMIT 1",
        user,
    )

    async def projected() -> bool:
        return bool(
            await fresh.fetchval("SELECT NOT provisional FROM tracks WHERE track_id = $1", moved)
        )

    await eventually(projected)
    await assert_rollups_exact(fresh)

    assert await top_artists(client, as_user(user)) == [(first, 6)]

    async with httpx.AsyncClient(base_url=catalog_url) as catalog:
        patched = await catalog.patch(
            f"/tracks/{moved}", json={"credits": [{"name": second}]}, headers=tokens.admin()
        )
        assert patched.status_code == 200, patched.text

    async def renamed() -> bool:
        name = await fresh.fetchval("SELECT artist_name FROM tracks WHERE track_id = $1", moved)
        return bool(name == second)

    await eventually(renamed)
    # Song 1's three listens now count under the second band.
    assert await top_artists(client, as_user(user)) == [(first, 3), (second, 3)]
    await assert_rollups_exact(fresh)


async def test_a_merge_into_another_artists_track_moves_the_listens_in_top_artists(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    as_user: Headers,
    tokens: Tokens,
    catalog_url: str,
    fresh: ServiceDb,
) -> None:
    user = uuid.uuid4()
    tag = uuid.uuid4().hex[:6]
    kept_band, gone_band = f"Kept Band {tag}", f"Gone Band {tag}"
    rows = [
        extended_row(BASE + minutes(10 * i), 150_000, (band, "LP", title, "", 150_000))
        for i, (band, title) in enumerate(
            [(kept_band, "Original")] * 2 + [(gone_band, "Cover")] * 3
        )
    ]
    await import_file(
        client,
        workers,
        as_user(user),
        samples.spotify_extended_zip([samples.extended_history(rows)]),
    )
    by_title = await track_ids_by_title(fresh, user)
    kept, gone = by_title["Original"], by_title["Cover"]

    async def projected() -> bool:
        return bool(
            await fresh.fetchval(
                "SELECT count(*) = 2 FROM tracks WHERE track_id = ANY($1) AND NOT provisional",
                [kept, gone],
            )
        )

    await eventually(projected)

    assert await top_artists(client, as_user(user)) == [(gone_band, 3), (kept_band, 2)]

    await merge_in_the_catalog(catalog_url, tokens, gone, kept, fresh)
    # The cover's three listens now count as the kept track's, under the kept band.
    assert await top_artists(client, as_user(user)) == [(kept_band, 5)]
    await assert_rollups_exact(fresh)


async def test_a_deleted_track_keeps_its_plays_shown_as_unavailable(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    as_user: Headers,
    tokens: Tokens,
    catalog_url: str,
    fresh: ServiceDb,
) -> None:
    user = uuid.uuid4()
    tag = uuid.uuid4().hex[:6]
    await submit(client, as_user(user), [scrobble(BASE, f"Deleted Band {tag}", "Vanishing Song")])
    track_id = await fresh.fetchval("SELECT track_id FROM plays WHERE user_id = $1", user)
    async with httpx.AsyncClient(base_url=catalog_url) as catalog:
        removed = await catalog.delete(f"/tracks/{track_id}", headers=tokens.admin())
        assert removed.status_code == 204, removed.text

    async def marked() -> bool:
        return bool(
            await fresh.fetchval(
                "SELECT deleted_at IS NOT NULL FROM tracks WHERE track_id = $1", track_id
            )
        )

    await eventually(marked)
    listens = (await client.get("/api/v1/me/listens/", headers=as_user(user))).json()
    [listen] = listens["items"]
    assert listen["track"]["id"] == str(track_id)
    assert listen["track"]["available"] is False
    assert listen["track"]["title"] == "Vanishing Song"


async def test_an_erased_user_leaves_nothing_behind_and_the_saga_hears_of_it(
    client: AsyncTestClient[Any],
    workers: ImportWorkers,
    as_user: Headers,
    ingestion_infra: Any,
    settings: IngestionSettings,
    fresh: ServiceDb,
) -> None:
    user, bystander = uuid.uuid4(), uuid.uuid4()
    await publish_event(
        ingestion_infra,
        USER_REGISTERED,
        UserRegisteredV1(
            user_id=user,
            username=f"erased-{user.hex[:8]}",
            display_name=None,
            registered_at=utcnow(),
        ),
        str(user),
    )
    job = await import_file(client, workers, as_user(user), spotify_sample())
    await import_file(client, workers, as_user(bystander), spotify_sample())
    await client.put(f"/api/v1/me/likes/{uuid.uuid4()}", headers=as_user(user))
    upload_path = await fresh.fetchval(
        "SELECT upload_path FROM import_jobs WHERE id = $1", uuid.UUID(job["id"])
    )
    assert (settings.uploads_dir / upload_path).exists()
    await eventually(
        lambda: fresh.fetchval("SELECT count(*) FROM listeners WHERE user_id = $1", user)
    )

    erasure = uuid.uuid4()
    await publish_event(
        ingestion_infra,
        USER_DELETED,
        UserDeletedV1(user_id=user, erasure_id=erasure, deleted_at=utcnow()),
        str(user),
    )
    [answer] = await eventually(lambda: fresh.events("ingestion.user_data.erased"))
    assert data(answer)["erasure_id"] == str(erasure)
    assert data(answer)["context"] == "ingestion"
    for table in (
        "plays",
        "likes",
        "import_jobs",
        "sync_checkpoints",
        "user_track_totals",
        "user_hours",
        "listeners",
    ):
        query = f"SELECT count(*) FROM {table} WHERE user_id = $1"  # noqa: S608
        assert await fresh.fetchval(query, user) == 0, table
    assert not (settings.uploads_dir / upload_path).exists()
    assert await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", bystander) == 5
    await assert_rollups_exact(fresh)  # the bystander's rollups untouched


async def test_listens_recorded_are_batched_per_chunk_and_only_new(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    rows = [extended_row(BASE + minutes(4 * i), 100_000, TRACKS[i % 5]) for i in range(2_500)]
    export = samples.spotify_extended_zip([samples.extended_history(rows)])
    await import_file(client, workers, as_user(user), export)
    events = await fresh.events("ingestion.listens.recorded")
    # Chunks of 1,000 records: three events, never one per listen.
    assert [len(data(e)["listens"]) for e in events] == [1_000, 1_000, 500]
    await import_file(client, workers, as_user(user), export)
    assert len(await fresh.events("ingestion.listens.recorded")) == 3
    completed = await fresh.events("ingestion.import.completed")
    assert [data(e)["counts"]["listens_imported"] for e in completed] == [2_500, 0]
