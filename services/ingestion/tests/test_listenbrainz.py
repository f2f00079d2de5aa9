"""The ListenBrainz-compatible API (``/1/…``) as ListenBrainz documents it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from medley_core.catalog_client import CatalogClient
from medley_core.db import transaction
from medley_core.registry import CATALOG_RESOLVE, LISTENS_ON_BEHALF
from medley_core.service_tokens import StaticAuthorization
from medley_ingestion import projection
from medley_ingestion.app import create_app
from medley_ingestion.settings import IngestionSettings
from medley_local.pytest_plugin import ServiceDb

from . import samples
from .conftest import Headers, Tokens

RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-In",
)


def listen(
    ts: int, artist: str = "Radiohead", title: str = "Airbag", **info: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "artist_name": artist,
        "track_name": title,
        "release_name": "OK Computer",
    }
    if info:
        metadata["additional_info"] = info
    return {"listened_at": ts, "track_metadata": metadata}


async def post_raw(
    client: AsyncTestClient[Any], path: str, body: Any, headers: dict[str, str]
) -> Any:
    # No Content-Type, as many scrobblers send it.
    raw = body if isinstance(body, bytes) else samples.json_bytes(body)
    return await client.post(path, content=raw, headers=headers)


@pytest.fixture
async def listener(fresh: ServiceDb, sessions: Any) -> tuple[uuid.UUID, str]:
    user = uuid.uuid4()
    name = f"lb-{user.hex[:10]}"
    async with transaction(sessions) as session:
        await projection.remember_listener(session, user, name)
    return user, name


def lb_error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status
    for header in RATE_HEADERS:
        assert header in response.headers, header
    return str(body["error"])


NOW = int(time.time())


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "Cannot parse JSON document"),
        ({"payload": []}, "Invalid JSON document submitted."),
        ({"listen_type": "single", "payload": []}, "JSON document does not contain any listens"),
        (
            {"listen_type": "often", "payload": [listen(NOW)]},
            "JSON document requires a valid listen_type key.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW), listen(NOW - 300)]},
            "JSON document contains more than listen for a single/playing_now.",
        ),
        (
            {"listen_type": "import", "payload": [listen(NOW - i) for i in range(1001)]},
            "Too many listens. You may not submit more than 1000 listens at once.",
        ),
        (
            {"listen_type": "single", "payload": [{"track_metadata": listen(0)["track_metadata"]}]},
            "JSON document must contain the key listened_at at the top level.",
        ),
        (
            {"listen_type": "single", "payload": [listen(1033410599)]},
            "Value for key listened_at is too low.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW + 7200)]},
            "Value for key listened_at is too high.",
        ),
        (
            {"listen_type": "playing_now", "payload": [listen(NOW)]},
            "JSON document must not contain listened_at while submitting playing_now.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, artist="")]},
            "JSON document does not contain required track_metadata.artist_name.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, title="   ")]},
            "JSON document does not contain required track_metadata.track_name.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, artist=["A", "B"])]},  # type: ignore[arg-type]
            "track_metadata.artist_name must be a single string.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, recording_mbid="not-an-mbid")]},
            "recording_mbid MBID format invalid.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, artist_mbids=["nope"])]},
            "artist_mbids MBID format invalid.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, duration=10, duration_ms=10000)]},
            "JSON document should not contain both duration and duration_ms.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, comment="x" * 10_300)]},
            "Listen is too large.",
        ),
        (
            {"listen_type": "single", "payload": [{**listen(NOW), "extra": 1}]},
            "JSON document may only contain listened_at and track_metadata top level keys",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_submissions_are_validated_as_listenbrainz_does(
    client: AsyncTestClient[Any],
    as_user: Headers,
    listener: tuple[uuid.UUID, str],
    body: Any,
    error: str,
) -> None:
    user, _ = listener
    response = await post_raw(client, "/1/submit-listens", body, as_user(user))
    assert lb_error(response, 400).startswith(error)


async def test_submitted_listens_are_read_back_newest_first_and_a_retry_adds_nothing(
    client: AsyncTestClient[Any], as_user: Headers, listener: tuple[uuid.UUID, str]
) -> None:
    user, name = listener
    base = 1_700_000_000
    payload = [
        listen(
            base + 600 * i,
            title=f"Track {i}",
            tracknumber=i,
            isrc="GBAYE0601498",
            submission_client="Pano Scrobbler",
            duration_ms=200_000,
        )
        for i in range(30)
    ]
    body = {"listen_type": "import", "payload": payload}
    for _ in range(2):  # a client retrying after a timeout
        response = await post_raw(client, "/1/submit-listens", body, as_user(user))
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok"}
        for header in RATE_HEADERS:
            assert header in response.headers
    count = (await client.get(f"/1/user/{name}/listen-count")).json()
    assert count == {"payload": {"count": 30}}
    page = (await client.get(f"/1/user/{name}/listens")).json()["payload"]
    assert page["count"] == 25  # ListenBrainz's default
    assert page["user_id"] == name
    assert page["latest_listen_ts"] == base + 600 * 29
    assert page["oldest_listen_ts"] == base
    first = page["listens"][0]
    assert first["listened_at"] == base + 600 * 29
    assert first["user_name"] == name
    assert first["track_metadata"]["track_name"] == "Track 29"
    assert first["track_metadata"]["artist_name"] == "Radiohead"
    assert first["track_metadata"]["release_name"] == "OK Computer"
    assert first["track_metadata"]["additional_info"]["isrc"] == "GBAYE0601498"
    assert first["recording_msid"] == first["track_metadata"]["additional_info"]["recording_msid"]
    assert isinstance(first["inserted_at"], int)
    # min_ts and max_ts are exclusive.
    window = (
        await client.get(
            f"/1/user/{name}/listens", params={"min_ts": base, "max_ts": base + 600 * 3}
        )
    ).json()["payload"]
    assert [x["listened_at"] for x in window["listens"]] == [base + 1200, base + 600]
    after = (
        await client.get(f"/1/user/{name}/listens", params={"min_ts": base + 600 * 26, "count": 2})
    ).json()
    assert [x["listened_at"] for x in after["payload"]["listens"]] == [
        base + 600 * 28,
        base + 600 * 27,
    ]
    capped = (await client.get(f"/1/user/{name}/listens", params={"count": 5000})).json()
    assert capped["payload"]["count"] == 30


async def test_delete_listen_removes_it(
    client: AsyncTestClient[Any], as_user: Headers, listener: tuple[uuid.UUID, str]
) -> None:
    user, name = listener
    await post_raw(
        client,
        "/1/submit-listens",
        {"listen_type": "single", "payload": [listen(1_700_000_000)]},
        as_user(user),
    )
    [stored] = (await client.get(f"/1/user/{name}/listens")).json()["payload"]["listens"]
    response = await post_raw(
        client,
        "/1/delete-listen",
        {"listened_at": stored["listened_at"], "recording_msid": stored["recording_msid"]},
        as_user(user),
    )
    assert response.json() == {"status": "ok"}
    assert (await client.get(f"/1/user/{name}/listen-count")).json()["payload"]["count"] == 0


async def test_playing_now_expires_after_the_tracks_duration(
    client: AsyncTestClient[Any], as_user: Headers, listener: tuple[uuid.UUID, str]
) -> None:
    user, name = listener
    now_playing = {
        "listen_type": "playing_now",
        "payload": [{"track_metadata": {**listen(0, duration_ms=1500)["track_metadata"]}}],
    }
    assert (
        await post_raw(client, "/1/submit-listens", now_playing, as_user(user))
    ).status_code == 200
    playing = (await client.get(f"/1/user/{name}/playing-now")).json()["payload"]
    assert playing["count"] == 1
    assert playing["listens"][0]["playing_now"] is True
    assert playing["listens"][0]["track_metadata"]["track_name"] == "Airbag"
    await asyncio.sleep(1.6)
    assert (await client.get(f"/1/user/{name}/playing-now")).json()["payload"]["count"] == 0
    # Playing now is not a listen.
    assert (await client.get(f"/1/user/{name}/listen-count")).json()["payload"]["count"] == 0


async def test_feedback_loves_hates_and_forgets(
    client: AsyncTestClient[Any], as_user: Headers, listener: tuple[uuid.UUID, str]
) -> None:
    user, name = listener
    await post_raw(
        client,
        "/1/submit-listens",
        {"listen_type": "single", "payload": [listen(1_700_000_000)]},
        as_user(user),
    )
    [stored] = (await client.get(f"/1/user/{name}/listens")).json()["payload"]["listens"]
    msid = stored["recording_msid"]
    loved = await post_raw(
        client,
        "/1/feedback/recording-feedback",
        {"recording_msid": msid, "score": 1},
        as_user(user),
    )
    assert loved.json() == {"status": "ok"}
    feedback = (await client.get(f"/1/feedback/user/{name}/get-feedback")).json()
    assert feedback["total_count"] == 1
    assert feedback["feedback"][0]["score"] == 1
    assert feedback["feedback"][0]["recording_msid"] == msid
    assert feedback["feedback"][0]["user_id"] == name
    track_id = stored["track_metadata"]["additional_info"]["medley_track_id"]
    assert (await client.get(f"/api/v1/me/likes/{track_id}", headers=as_user(user))).json()[
        "score"
    ] == 1
    await post_raw(
        client,
        "/1/feedback/recording-feedback",
        {"recording_msid": msid, "score": -1},
        as_user(user),
    )
    hated = (await client.get(f"/1/feedback/user/{name}/get-feedback", params={"score": -1})).json()
    assert hated["total_count"] == 1
    await post_raw(
        client,
        "/1/feedback/recording-feedback",
        {"recording_msid": msid, "score": 0},
        as_user(user),
    )
    assert (await client.get(f"/1/feedback/user/{name}/get-feedback")).json()["total_count"] == 0
    unknown = await post_raw(
        client,
        "/1/feedback/recording-feedback",
        {"recording_msid": str(uuid.uuid4()), "score": 1},
        as_user(user),
    )
    lb_error(unknown, 404)


async def test_stats_are_live_and_shaped_as_listenbrainz_answers(
    client: AsyncTestClient[Any], as_user: Headers, listener: tuple[uuid.UUID, str]
) -> None:
    user, name = listener
    assert (await client.get(f"/1/stats/user/{name}/artists")).status_code == 204
    now = int(time.time()) - 60
    payload = [
        listen(now - 600 * i, artist=["Radiohead", "Björk", "Björk"][i % 3], title=f"S{i % 4}")
        for i in range(12)
    ]
    await post_raw(
        client, "/1/submit-listens", {"listen_type": "import", "payload": payload}, as_user(user)
    )
    artists = (
        await client.get(f"/1/stats/user/{name}/artists", params={"range": "this_week"})
    ).json()["payload"]
    assert [(a["artist_name"], a["listen_count"]) for a in artists["artists"]] == [
        ("Björk", 8),
        ("Radiohead", 4),
    ]
    assert artists["total_artist_count"] == 2
    assert artists["range"] == "this_week"
    assert artists["user_id"] == name
    assert {"artist_mbid", "artist_mbids"} <= set(artists["artists"][0])
    assert artists["from_ts"] <= now <= artists["to_ts"]
    recordings = (await client.get(f"/1/stats/user/{name}/recordings", params={"count": 2})).json()[
        "payload"
    ]
    assert recordings["count"] == 2
    assert recordings["total_recording_count"] == len(
        {(p["track_metadata"]["artist_name"], p["track_metadata"]["track_name"]) for p in payload}
    )
    releases = (await client.get(f"/1/stats/user/{name}/releases")).json()["payload"]
    assert releases["total_release_count"] >= 1
    assert releases["releases"][0]["release_name"] == "OK Computer"
    daily = (await client.get(f"/1/stats/user/{name}/daily-activity")).json()["payload"]
    assert sum(h["listen_count"] for day in daily["daily_activity"].values() for h in day) == 12
    assert len(daily["daily_activity"]["Monday"]) == 24
    activity = (
        await client.get(f"/1/stats/user/{name}/listening-activity", params={"range": "this_month"})
    ).json()
    assert sum(x["listen_count"] for x in activity["payload"]["listening_activity"]) == 12
    lb_error(await client.get(f"/1/stats/user/{name}/artists", params={"range": "forever"}), 400)
    assert (
        await client.get(f"/1/stats/user/{name}/artists", params={"range": "year"})
    ).status_code == 204


async def test_who_may_submit(
    client: AsyncTestClient[Any], tokens: Tokens, listener: tuple[uuid.UUID, str], fresh: ServiceDb
) -> None:
    user, name = listener
    body = {"listen_type": "single", "payload": [listen(1_700_000_000)]}
    lb_error(await post_raw(client, "/1/submit-listens", body, {}), 401)
    lb_error(await post_raw(client, "/1/submit-listens", body, {"Authorization": "Token abc"}), 401)
    lb_error(
        await post_raw(
            client, "/1/submit-listens", body, tokens.service("gateway", CATALOG_RESOLVE)
        ),
        403,
    )
    # The gateway, having resolved the client's API token, acts for its user.
    gateway = {
        **tokens.service("gateway", LISTENS_ON_BEHALF),
        "X-Medley-User-Id": str(user),
        "X-Medley-Username": name,
    }
    response = await post_raw(client, "/1/submit-listens", body, gateway)
    assert response.status_code == 200, response.text
    valid = (await client.get("/1/validate-token", headers=gateway)).json()
    assert valid == {"code": 200, "message": "Token valid.", "valid": True, "user_name": name}
    invalid = (await client.get("/1/validate-token", params={"token": "nope"})).json()
    assert invalid["valid"] is False
    lb_error(await client.get("/1/user/nobody-at-all/listens"), 404)


@pytest.fixture
async def limited_client(
    settings: IngestionSettings, tokens: Tokens, catalog_url: str, catalog_token: str
) -> AsyncIterator[AsyncTestClient[Any]]:
    strict = settings.model_copy(update={"listenbrainz_rate_limit": 3})
    app = create_app(
        strict,
        verifier=tokens.verifier(),
        catalog=CatalogClient(catalog_url, StaticAuthorization(catalog_token)),
    )
    async with AsyncTestClient(app) as started:
        yield started


async def test_past_the_rate_limit_the_answer_is_429_with_when_to_come_back(
    limited_client: AsyncTestClient[Any], listener: tuple[uuid.UUID, str]
) -> None:
    _, name = listener
    answers = [await limited_client.get(f"/1/user/{name}/listen-count") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert 0 < int(answers[3].headers["X-RateLimit-Reset-In"]) <= 10
    assert int(answers[3].headers["X-RateLimit-Reset"]) >= int(time.time())
    lb_error(answers[3], 429)
