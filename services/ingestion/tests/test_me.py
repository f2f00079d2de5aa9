"""Medley's own API over a user's listening: listens, likes, stats; another user's are 404."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from medley_ingestion import stats
from medley_ingestion.worker import ImportWorkers
from medley_local.pytest_plugin import ServiceDb

from . import samples
from .conftest import Headers, assert_problem, assert_rollups_exact
from .samples import TRACKS, extended_row
from .test_imports import import_file


def recent_history(count: int) -> bytes:
    """Plays over the last days, so they fall in this week's and this month's ranges."""
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        extended_row(now - timedelta(hours=3 * i), 200_000, TRACKS[i % 3 if i % 4 else 0])
        for i in range(count)
    ]
    return samples.spotify_extended_zip([samples.extended_history(rows)])


async def test_my_listens_come_in_keyset_pages_with_filters(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    await import_file(client, workers, as_user(user), recent_history(12))
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/me/listens/", params=params, headers=as_user(user))
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 12
    times = [item["listened_at"] for item in seen]
    assert times == sorted(times, reverse=True)
    assert len({item["id"] for item in seen}) == 12
    first = seen[0]
    assert first["source"] == "spotify"
    assert first["track"]["available"] is True
    assert first["source_track"]["artist"] in {t[0] for t in TRACKS}
    track_id = first["track"]["id"]
    only = (
        await client.get(
            "/api/v1/me/listens/", params={"track_id": track_id}, headers=as_user(user)
        )
    ).json()
    assert {item["track"]["id"] for item in only["items"]} == {track_id}
    since = seen[3]["listened_at"]
    recent = (
        await client.get("/api/v1/me/listens/", params={"since": since}, headers=as_user(user))
    ).json()
    assert [item["id"] for item in recent["items"]] == [item["id"] for item in seen[:4]]
    bad = await client.get(
        "/api/v1/me/listens/", params={"cursor": "garbage!"}, headers=as_user(user)
    )
    assert_problem(bad, 422)


async def test_deleting_a_listen_takes_it_out_of_the_stats(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    await import_file(client, workers, as_user(user), recent_history(8))
    totals = (await client.get("/api/v1/me/stats/totals", headers=as_user(user))).json()
    assert totals["listens"] == 8
    listen_id = (await client.get("/api/v1/me/listens/", headers=as_user(user))).json()["items"][0][
        "id"
    ]
    response = await client.delete(f"/api/v1/me/listens/{listen_id}", headers=as_user(user))
    assert response.status_code == 204
    assert_problem(
        await client.delete(f"/api/v1/me/listens/{listen_id}", headers=as_user(user)), 404
    )
    totals = (await client.get("/api/v1/me/stats/totals", headers=as_user(user))).json()
    assert totals["listens"] == 7
    assert totals["ms_played"] == 7 * 200_000
    await assert_rollups_exact(fresh)


async def test_stats_answer_top_lists_activity_and_totals(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    await import_file(client, workers, as_user(user), recent_history(12))
    headers = as_user(user)
    # TRACKS[0] is played every fourth time and a third of the others: 6 of 12.
    top = (
        await client.get(
            "/api/v1/me/stats/top-tracks", params={"range": "all_time", "limit": 2}, headers=headers
        )
    ).json()
    assert top["total"] == 3
    assert [(i["title"], i["listen_count"]) for i in top["items"]] == [
        (TRACKS[0][2], 6),
        (TRACKS[1][2], 3),
    ]
    artists = (
        await client.get(
            "/api/v1/me/stats/top-artists", params={"range": "this_month"}, headers=headers
        )
    ).json()
    assert artists["items"][0]["artist_name"] == TRACKS[0][0]
    albums = (await client.get("/api/v1/me/stats/top-albums", headers=headers)).json()
    assert albums["items"][0]["album_title"] == TRACKS[0][1]
    by_hour = (
        await client.get("/api/v1/me/stats/activity", params={"by": "hour"}, headers=headers)
    ).json()
    assert sum(i["listen_count"] for i in by_hour["items"]) == 12
    assert all(0 <= i["bucket"] <= 23 for i in by_hour["items"])
    by_weekday = (
        await client.get("/api/v1/me/stats/activity", params={"by": "weekday"}, headers=headers)
    ).json()
    assert all(1 <= i["bucket"] <= 7 for i in by_weekday["items"])
    totals = (await client.get("/api/v1/me/stats/totals", headers=headers)).json()
    assert (totals["listens"], totals["tracks"], totals["artists"]) == (12, 3, 3)
    assert totals["ms_played"] == 12 * 200_000
    bad = await client.get(
        "/api/v1/me/stats/top-tracks", params={"range": "forever"}, headers=headers
    )
    assert assert_problem(bad, 422)["errors"][0]["field"] == "range"


def span(name: str, today: Any) -> tuple[Any, Any]:
    found = stats.period(name, today)
    return found.start, found.end


def test_ranges_are_listenbrainzs() -> None:
    wednesday = datetime(2024, 5, 15, tzinfo=UTC).date()
    assert span("this_week", wednesday) == (
        datetime(2024, 5, 13).date(),
        datetime(2024, 5, 16).date(),
    )
    assert span("week", wednesday) == (datetime(2024, 5, 6).date(), datetime(2024, 5, 13).date())
    assert span("month", wednesday) == (datetime(2024, 4, 1).date(), datetime(2024, 5, 1).date())
    assert span("quarter", wednesday) == (datetime(2024, 1, 1).date(), datetime(2024, 4, 1).date())
    assert span("half_yearly", wednesday) == (
        datetime(2023, 7, 1).date(),
        datetime(2024, 1, 1).date(),
    )
    assert span("year", wednesday) == (datetime(2023, 1, 1).date(), datetime(2024, 1, 1).date())
    january = datetime(2024, 1, 10, tzinfo=UTC).date()
    assert span("month", january) == (datetime(2023, 12, 1).date(), datetime(2024, 1, 1).date())
    assert span("all_time", wednesday) == (None, None)


async def test_likes_put_get_delete(
    client: AsyncTestClient[Any], as_user: Headers, fresh: ServiceDb
) -> None:
    user, track = uuid.uuid4(), uuid.uuid4()
    headers = as_user(user)
    assert_problem(await client.get(f"/api/v1/me/likes/{track}", headers=headers), 404)
    liked = (await client.put(f"/api/v1/me/likes/{track}", headers=headers)).json()
    assert (liked["track_id"], liked["score"]) == (str(track), 1)
    again = await client.put(f"/api/v1/me/likes/{track}", headers=headers)
    assert again.status_code == 200
    assert (await client.get(f"/api/v1/me/likes/{track}", headers=headers)).status_code == 200
    assert (await client.delete(f"/api/v1/me/likes/{track}", headers=headers)).status_code == 204
    assert_problem(await client.get(f"/api/v1/me/likes/{track}", headers=headers), 404)
    # One event per change: the like, then its removal (not the repeated like).
    changes = [row["type"] for row in await fresh.events("ingestion.likes.changed")]
    assert changes == ["ingestion.likes.changed", "ingestion.likes.changed"]
    assert_problem(await client.get(f"/api/v1/me/likes/{track}x", headers=headers), 422)


async def test_every_user_owned_route_is_404_for_another_user(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    job = await import_file(client, workers, as_user(owner), recent_history(3))
    listen = (await client.get("/api/v1/me/listens/", headers=as_user(owner))).json()["items"][0]
    track = listen["track"]["id"]
    await client.put(f"/api/v1/me/likes/{track}", headers=as_user(owner))
    for method, path in (
        ("GET", f"/api/v1/imports/{job['id']}"),
        ("POST", f"/api/v1/imports/{job['id']}/cancel"),
        ("DELETE", f"/api/v1/imports/{job['id']}"),
        ("DELETE", f"/api/v1/me/listens/{listen['id']}"),
        ("GET", f"/api/v1/me/likes/{track}"),
        ("DELETE", f"/api/v1/me/likes/{track}"),
    ):
        assert_problem(await client.request(method, path, headers=as_user(other)), 404)
    nothing = (await client.get("/api/v1/me/listens/", headers=as_user(other))).json()
    assert nothing == {"items": [], "next_cursor": None}
    theirs = (await client.get("/api/v1/me/stats/totals", headers=as_user(other))).json()
    assert theirs["listens"] == 0
    # The owner's are all still there.
    assert (
        await client.get(f"/api/v1/imports/{job['id']}", headers=as_user(owner))
    ).status_code == 200
    assert await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", owner) == 3
    assert await fresh.fetchval("SELECT count(*) FROM likes WHERE user_id = $1", owner) == 1
    assert_problem(await client.get("/api/v1/me/listens/"), 401)
