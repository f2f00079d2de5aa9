"""The projection follows the real catalog over NATS JetStream: a track the catalog creates
can be added, a merge in the catalog repoints items, a delete marks them unavailable.

Both apps run in-process against their own databases and one event prefix: the catalog's
outbox relay publishes, the playlists service's durable consumer applies.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from medley_catalog.app import create_app as create_catalog_app
from medley_catalog.settings import CatalogSettings
from medley_core.testing.tokens import TokenMint, bearer
from medley_local.pytest_plugin import service_db, settings_for_tests
from medley_local.services import service

from .conftest import Client, People, assert_problem
from .test_items_api import new_playlist

WAIT_S = 20.0


@pytest.fixture(scope="module")
async def catalog(service_infra: Any, mint: TokenMint) -> AsyncIterator[AsyncTestClient[Any]]:
    """The catalog service, publishing under the playlists tests' event prefix."""
    suffix = f"_pl{service_infra.role_suffix}"
    database = service("catalog").database(password="catalog-pl", role_suffix=suffix)
    async with service_db(service_infra.admin_url, database) as db:
        settings = settings_for_tests(
            CatalogSettings, service_infra, db, db_pool_size=2, relay_poll_interval_s=0.2
        )
        app = create_catalog_app(settings, verifier=mint.verifier())
        async with AsyncTestClient(app) as started:
            yield started


def admin(mint: TokenMint) -> dict[str, str]:
    return bearer(mint.admin_token())


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {WAIT_S} s: {what}")


async def test_catalog_events_reach_playlists_over_nats(
    client: Client, people: People, catalog: AsyncTestClient[Any], mint: TokenMint
) -> None:
    async def make_track(title: str, duration_ms: int) -> str:
        body = {"title": title, "credits": [{"name": "Portishead"}], "duration_ms": duration_ms}
        response = await catalog.post("/tracks", json=body, headers=admin(mint))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    playlist = await new_playlist(client, people.alice)
    roads = await make_track("Roads", 303_000)
    duplicate = await make_track("Roads (dup)", 300_000)

    # Created: once the event is applied, the track can be added (no call to the catalog).
    async def addable() -> bool:
        response = await playlist.add([uuid.UUID(roads), uuid.UUID(duplicate)])
        if response.status_code == 422:
            return False
        assert response.status_code == 201, response.text
        return True

    await eventually(addable, "catalog.track.created applied")
    await playlist.add([uuid.UUID(duplicate)])
    assert [i["track"]["title"] for i in await playlist.items()] == [
        "Roads",
        "Roads (dup)",
        "Roads (dup)",
    ]

    # Merged in the catalog: the duplicate's items name the survivor.
    merged = await catalog.post(
        f"/tracks/{duplicate}/merge", json={"into": roads}, headers=admin(mint)
    )
    assert merged.status_code == 200, merged.text

    async def repointed() -> bool:
        return [i["track_id"] for i in await playlist.items()] == [roads] * 3

    await eventually(repointed, "catalog.track.merged applied")
    shown = await playlist.playlist()
    assert (shown["track_count"], shown["duration_ms"]) == (3, 3 * 303_000)

    # Deleted in the catalog: the items stay, unavailable, and the track cannot be added.
    assert (await catalog.delete(f"/tracks/{roads}", headers=admin(mint))).status_code == 204

    async def unavailable() -> bool:
        return [i["available"] for i in await playlist.items()] == [False] * 3

    await eventually(unavailable, "catalog.track.deleted applied")
    assert_problem(await playlist.add([uuid.UUID(roads)]), 422)
