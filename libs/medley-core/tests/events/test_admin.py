"""The dead-letter admin endpoints, over HTTP, in a real service app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from medley_contracts.envelope import EventEnvelope
from medley_core.app import create_service_app
from medley_core.events.deadletters import store_dead_letter
from medley_core.ids import new_id, utcnow
from medley_core.testing.tokens import TokenMint, bearer

from .conftest import THING_HAPPENED, EventDb, SettingsFactory, counting_handler


@pytest.fixture
async def admin_client(
    db: EventDb, make_settings: SettingsFactory
) -> AsyncIterator[tuple[AsyncTestClient[Any], dict[str, dict[str, str]]]]:
    settings = make_settings()
    mint = TokenMint(issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    app = create_service_app(
        settings,
        route_handlers=[],
        event_handlers={THING_HAPPENED.name: counting_handler()},
        verifier=mint.verifier(),
    )
    async with AsyncTestClient(app=app) as client:
        yield (
            client,
            {
                "admin": bearer(mint.user_token(roles=["admin"])),
                "user": bearer(mint.user_token(roles=["user"])),
            },
        )


async def dead_letter(db: EventDb, key: str, *, valid: bool = True) -> uuid.UUID:
    envelope = EventEnvelope(
        id=new_id(),
        type=THING_HAPPENED.name,
        version=1,
        source="evtest",
        occurred_at=utcnow(),
        subject=key,
        data={"key": key, "note": ""},
    )
    async with db.sessions() as session, session.begin():
        return await store_dead_letter(
            session,
            consumer="evtest",
            stream="T_EVTEST",
            stream_seq=42,
            subject=f"t.{THING_HAPPENED.name}",
            event_id=envelope.id if valid else None,
            envelope=envelope.model_dump(mode="json") if valid else {"raw": "garbage"},
            error="RuntimeError: boom",
            deliveries=3,
            schema=db.schema,
        )


async def test_dead_letters_need_an_admin(
    admin_client: tuple[AsyncTestClient[Any], dict[str, dict[str, str]]],
) -> None:
    client, auth = admin_client
    anonymous = await client.get("/admin/dead-letters")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    user = await client.get("/admin/dead-letters", headers=auth["user"])
    assert user.status_code == 403
    assert user.json()["status"] == 403
    replay = await client.post(f"/admin/dead-letters/{uuid.uuid4()}/replay", headers=auth["user"])
    assert replay.status_code == 403


async def test_admin_lists_pages_reads_and_replays_dead_letters(
    db: EventDb, admin_client: tuple[AsyncTestClient[Any], dict[str, dict[str, str]]]
) -> None:
    client, auth = admin_client
    admin = auth["admin"]
    ids = [await dead_letter(db, f"http-{i}") for i in range(3)]
    broken = await dead_letter(db, "broken", valid=False)

    first = await client.get("/admin/dead-letters", params={"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["id"] for item in page["items"]] == [str(i) for i in ids[:2]]
    assert page["next_after"] == str(ids[1])
    second = await client.get(
        "/admin/dead-letters", params={"limit": 2, "after": page["next_after"]}, headers=admin
    )
    rest = second.json()
    assert [item["id"] for item in rest["items"]] == [str(ids[2]), str(broken)]
    assert rest["next_after"] is None

    one = await client.get(f"/admin/dead-letters/{ids[0]}", headers=admin)
    assert one.status_code == 200
    assert one.json()["error"] == "RuntimeError: boom"
    assert one.json()["stream_seq"] == 42
    missing = await client.get(f"/admin/dead-letters/{uuid.uuid4()}", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")

    replayed = await client.post(f"/admin/dead-letters/{ids[0]}/replay", headers=admin)
    assert replayed.status_code == 200, replayed.text
    body = replayed.json()
    assert body["applied"] is True
    assert body["dead_letter"]["replayed_at"] is not None
    assert await db.count("http-0") == 1

    again = await client.post(f"/admin/dead-letters/{ids[0]}/replay", headers=admin)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-replayed")
    assert await db.count("http-0") == 1

    not_replayable = await client.post(f"/admin/dead-letters/{broken}/replay", headers=admin)
    assert not_replayable.status_code == 409
    assert not_replayable.json()["type"].endswith("/not-replayable")

    waiting = await client.get("/admin/dead-letters", params={"replayed": "false"}, headers=admin)
    assert [item["id"] for item in waiting.json()["items"]] == [
        str(ids[1]),
        str(ids[2]),
        str(broken),
    ]
    done = await client.get("/admin/dead-letters", params={"replayed": "true"}, headers=admin)
    assert [item["id"] for item in done.json()["items"]] == [str(ids[0])]

    bad_limit = await client.get("/admin/dead-letters", params={"limit": 0}, headers=admin)
    assert bad_limit.status_code in (400, 422)


async def test_failed_replay_is_a_problem_and_is_recorded(
    db: EventDb, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    mint = TokenMint(issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    async def always_fails(session: object, envelope: EventEnvelope) -> None:
        raise RuntimeError("still broken")

    app = create_service_app(
        settings,
        route_handlers=[],
        event_handlers={THING_HAPPENED.name: always_fails},
        verifier=mint.verifier(),
    )
    admin = bearer(mint.user_token(roles=["admin"]))
    letter = await dead_letter(db, "fails")
    async with AsyncTestClient(app=app) as client:
        ready = await client.get("/health/ready")
        response = await client.post(f"/admin/dead-letters/{letter}/replay", headers=admin)
        assert response.status_code == 409
        problem = response.json()
        assert problem["type"].endswith("/replay-failed")
        assert "still broken" in problem["replay_error"]
        assert problem["request_id"]
        stored = (await client.get(f"/admin/dead-letters/{letter}", headers=admin)).json()
    assert stored["replayed_at"] is None
    assert "still broken" in stored["replay_error"]
    assert ready.status_code in (200, 503)


async def test_dead_letters_page_with_the_shared_cursor_too(
    db: EventDb, admin_client: tuple[AsyncTestClient[Any], dict[str, dict[str, str]]]
) -> None:
    client, auth = admin_client
    admin = auth["admin"]
    ids = [await dead_letter(db, f"cursor-{i}") for i in range(3)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/admin/dead-letters", params=params, headers=admin)).json()
        seen += [item["id"] for item in page["items"]]
        assert page["next_after"] == (page["items"][-1]["id"] if page["next_cursor"] else None)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(i) for i in ids]
    refused = await client.get("/admin/dead-letters", params={"cursor": "x"}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["field"] == "cursor"
