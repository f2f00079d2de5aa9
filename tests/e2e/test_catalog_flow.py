"""The catalog through the gateway, every part real (``medley_stack``): admins write, anyone
reads and searches, merged ids keep resolving, and bad input is a 4xx problem. Also the
erasure saga across services: deleting an account completes only once the catalog (and
every other context that holds user data), over NATS, has answered the users service."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from e2e_helpers import assert_problem, login, new_account, register

from medley_core import registry
from medley_core.testing.tokens import bearer

CATALOG = "/api/v1/catalog"
ADMIN_CATALOG = "/api/v1/admin/catalog"


async def create(
    api: httpx.AsyncClient, headers: dict[str, str], kind: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await api.post(f"{ADMIN_CATALOG}/{kind}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_admin_writes_and_anyone_reads_searches_and_follows_merges(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:6]
    floyd = await create(api, admin_headers, "artists", {"name": f"Pink Floyd {suffix}"})
    wall = await create(
        api,
        admin_headers,
        "albums",
        {"title": "The Wall", "credits": [{"artist_id": floyd["id"]}], "release_year": 1979},
    )
    isrc = f"GBAYE79{int(suffix, 16) % 100_000:05d}"  # CC, registrant, year, 5 digits
    brick = await create(
        api,
        admin_headers,
        "tracks",
        {
            "title": "Another Brick in the Wall, Part 2",
            "credits": [{"artist_id": floyd["id"]}],
            "album_id": wall["id"],
            "duration_ms": 238_000,
            "external_ids": [{"namespace": "isrc", "value": isrc}],
        },
    )

    # Reads need no token.
    album = await api.get(f"{CATALOG}/albums/{wall['id']}")
    assert album.status_code == 200, album.text
    assert album.json()["title"] == "The Wall"
    assert [t["id"] for t in album.json()["tracks"]] == [brick["id"]]
    found = await api.get(f"{CATALOG}/tracks/lookup", params={"namespace": "isrc", "value": isrc})
    assert found.status_code == 200, found.text
    assert found.json()["id"] == brick["id"]
    page = await api.get(f"{CATALOG}/tracks", params={"album": wall["id"]})
    assert [t["id"] for t in page.json()["items"]] == [brick["id"]]

    # Typo-tolerant search finds the album on the first page.
    search = await api.get(f"{CATALOG}/search", params={"q": "pink floid wal"})
    assert search.status_code == 200, search.text
    assert wall["id"] in [hit["id"] for hit in search.json()["items"]]

    # A duplicate artist merged into the original keeps resolving, to the survivor.
    duplicate = await create(api, admin_headers, "artists", {"name": f"The Pink Floyd {suffix}"})
    merged = await api.post(
        f"{ADMIN_CATALOG}/artists/{duplicate['id']}/merge",
        json={"into": floyd["id"]},
        headers=admin_headers,
    )
    assert merged.status_code == 200, merged.text
    redirected = await api.get(f"{CATALOG}/artists/{duplicate['id']}")
    assert redirected.status_code == 200, redirected.text
    assert redirected.json()["id"] == floyd["id"]
    batch = await api.post(f"{CATALOG}/artists/batch", json={"ids": [duplicate["id"]]})
    assert batch.status_code == 200, batch.text
    assert [a["id"] for a in batch.json()["items"]] == [floyd["id"]]
    # Merging back would make a loop.
    loop = await api.post(
        f"{ADMIN_CATALOG}/artists/{floyd['id']}/merge",
        json={"into": duplicate["id"]},
        headers=admin_headers,
    )
    assert_problem(loop, 409)


async def test_catalog_writes_need_an_admin_and_bad_input_is_a_problem(
    api: httpx.AsyncClient,
) -> None:
    body = {"name": "Nobody"}
    assert_problem(await api.post(f"{ADMIN_CATALOG}/artists", json=body), 401)
    account = new_account()
    await register(api, account)
    user = bearer((await login(api, account["username"]))["access_token"])
    assert_problem(await api.post(f"{ADMIN_CATALOG}/artists", json=body, headers=user), 403)

    assert_problem(await api.get(f"{CATALOG}/playlists"), 404)
    assert_problem(await api.get(f"{CATALOG}/tracks/not-a-uuid"), 422)
    assert_problem(await api.get(f"{CATALOG}/tracks/{uuid.uuid4()}"), 404)
    assert_problem(
        await api.get(f"{CATALOG}/tracks/lookup", params={"namespace": "isrc", "value": "nope"}),
        422,
    )
    too_many = {"ids": [str(uuid.uuid4()) for _ in range(1001)]}
    assert_problem(await api.post(f"{CATALOG}/tracks/batch", json=too_many), 413)


async def test_account_erasure_completes_when_the_catalog_and_ingestion_answer_over_nats(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = new_account()
    user = await register(api, account)
    token = (await login(api, account["username"]))["access_token"]
    deleted = await api.request(
        "DELETE", "/api/v1/me", json={"password": account["password"]}, headers=bearer(token)
    )
    assert deleted.status_code == 202, deleted.text

    # users → outbox → NATS → catalog (nothing of the user's) and ingestion (erases) → outbox
    # → NATS → users.
    status: dict[str, Any] = {}
    for _ in range(100):
        response = await api.get(f"/api/v1/admin/erasures/{user['id']}", headers=admin_headers)
        assert response.status_code == 200, response.text
        status = response.json()
        if status["status"] == "completed":
            break
        await asyncio.sleep(0.2)
    assert status["status"] == "completed", status
    # Every context the registry says erases user data answered, and users itself.
    assert status["contexts_done"] == sorted([*registry.erasure_contexts(), "users"])
    assert status["contexts_missing"] == []
