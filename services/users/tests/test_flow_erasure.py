"""Account deletion and the erasure saga, with real events: the outbox, the relay to
NATS, and other contexts' answers arriving through JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from medley_contracts.envelope import EventEnvelope, nats_subject, stream_name
from medley_contracts.users import UserDataErasedV1, user_data_erased
from medley_core.events.streams import ensure_stream
from medley_core.ids import new_id, utcnow

from .conftest import (
    AppFactory,
    UsersDb,
    admin_account,
    assert_problem,
    new_account,
    register,
)

Client = AsyncTestClient[Any]
WAIT_S = 60.0  # an upper bound for a test that is broken, never a measure of speed


@pytest.fixture
async def js(users_infra: Any) -> AsyncIterator[Any]:
    nc = await nats.connect(users_infra.nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def publish_erased(js: Any, prefix: str, context: str, user_id: str, erasure_id: str) -> None:
    """What the ``context`` service does once it has erased the user's data."""
    event = user_data_erased(context)
    envelope = EventEnvelope(
        id=new_id(),
        type=event.name,
        version=event.version,
        source=context,
        occurred_at=utcnow(),
        subject=user_id,
        data=UserDataErasedV1(
            user_id=uuid.UUID(user_id),
            erasure_id=uuid.UUID(erasure_id),
            context=context,
            erased_at=utcnow(),
        ).model_dump(mode="json"),
    )
    await ensure_stream(js, context, prefix)
    await js.publish(
        nats_subject(event.name, prefix),
        envelope.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(envelope.id)},
    )


async def erasure_of(client: Client, headers: dict[str, str], user_id: str) -> dict[str, Any]:
    response = await client.get(f"/admin/erasures/{user_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def wait_until_completed(
    client: Client, headers: dict[str, str], user_id: str
) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_S):
        while True:
            status = await erasure_of(client, headers, user_id)
            if status["status"] == "completed":
                return status
            await asyncio.sleep(0.05)


async def test_deletion_needs_the_password(client: Client) -> None:
    account = await new_account(client)
    wrong = await client.request(
        "DELETE", "/me", headers=account.headers, json={"password": "not the password"}
    )
    assert_problem(wrong, 403)
    no_body = await client.request("DELETE", "/me", headers=account.headers)
    assert no_body.status_code in (400, 422)
    assert no_body.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/me", headers=account.headers)).status_code == 200


async def test_deletion_erases_now_and_completes_when_catalog_answers(
    client: Client, users_db: UsersDb, users_infra: Any, js: Any
) -> None:
    admin = await admin_account(client)
    account = await new_account(client)
    await client.post("/me/api-tokens", headers=account.headers, json={"name": "scrobbler"})
    await client.put(
        "/me/integrations/lastfm",
        headers=account.headers,
        json={"external_user_id": "rj", "access_token": "session-key"},
    )

    response = await client.request(
        "DELETE", "/me", headers=account.headers, json={"password": account.password}
    )
    assert response.status_code == 202
    started = response.json()
    assert started["status"] == "pending"
    erasure_id = started["erasure_id"]

    # Logging in is over at once, and so is everything the users context held.
    gone = await client.post(
        "/login", json={"login": account.username, "password": account.password}
    )
    assert_problem(gone, 401)
    assert_problem(
        await client.post("/refresh", json={"refresh_token": account.refresh_token}), 401
    )
    assert_problem(await client.get("/me", headers=account.headers), 401)
    uid = uuid.UUID(account.id)
    for table in ("users", "credentials", "refresh_families", "api_tokens", "integrations"):
        column = "id" if table == "users" else "user_id"
        count = await users_db.fetchval(
            f"SELECT count(*) FROM users.{table} WHERE {column} = $1",  # noqa: S608 - fixed names
            uid,
        )
        assert count == 0, table

    status = await erasure_of(client, admin.headers, account.id)
    assert status["erasure_id"] == erasure_id
    assert status["status"] == "pending"
    assert status["contexts_done"] == ["users"]
    assert status["contexts_missing"] == ["catalog"]
    assert status["completed_at"] is None

    # users.user.deleted went out through the outbox to NATS, with the erasure id.
    deleted = await next_event(js, users_infra.event_prefix, "users.user.deleted", account.id)
    assert deleted.data["erasure_id"] == erasure_id
    assert deleted.data["user_id"] == account.id

    await publish_erased(js, users_infra.event_prefix, "catalog", account.id, erasure_id)
    done = await wait_until_completed(client, admin.headers, account.id)
    assert done["contexts_missing"] == []
    assert done["contexts_done"] == ["catalog", "users"]
    assert done["completed_at"] is not None

    # The same answer again (a redelivery, a replay) changes nothing.
    await publish_erased(js, users_infra.event_prefix, "catalog", account.id, erasure_id)
    assert (await erasure_of(client, admin.headers, account.id))["completed_at"] == (
        done["completed_at"]
    )


async def test_the_username_is_free_again_after_deletion(client: Client) -> None:
    account = await new_account(client)
    await client.request(
        "DELETE", "/me", headers=account.headers, json={"password": account.password}
    )
    again = await register(client, account.username)
    assert again["id"] != account.id


async def test_with_no_other_context_the_erasure_completes_at_once(
    users_app: AppFactory,
) -> None:
    async with users_app(erasure_contexts=[]) as client:
        admin = await admin_account(client)
        account = await new_account(client)
        response = await client.request(
            "DELETE", "/me", headers=account.headers, json={"password": account.password}
        )
        assert response.json()["status"] == "completed"
        status = await erasure_of(client, admin.headers, account.id)
        assert status["status"] == "completed"
        assert status["contexts_done"] == ["users"]


async def test_an_unknown_erasure_is_not_found(client: Client) -> None:
    admin = await admin_account(client)
    response = await client.get(f"/admin/erasures/{uuid.uuid4()}", headers=admin.headers)
    assert_problem(response, 404)


async def test_registration_writes_one_registered_event(
    client: Client, users_db: UsersDb, users_infra: Any, js: Any
) -> None:
    user = await register(client, display_name="Grace")
    rows = await users_db.fetch(
        "SELECT type, version, subject, data FROM users.outbox WHERE subject = $1", user["id"]
    )
    assert len(rows) == 1
    assert rows[0]["type"] == "users.user.registered"
    assert rows[0]["version"] == 1
    published = await next_event(js, users_infra.event_prefix, "users.user.registered", user["id"])
    assert published.data["username"] == user["username"]
    assert published.data["display_name"] == "Grace"
    assert published.data["user_id"] == user["id"]


async def test_a_failed_registration_writes_no_event(client: Client, users_db: UsersDb) -> None:
    user = await register(client)
    before = await users_db.fetchval("SELECT count(*) FROM users.outbox")
    duplicate = await client.post(
        "/register",
        json={
            "username": user["username"],
            "email": "someone-else@example.com",
            "password": "correct horse battery staple",
        },
    )
    assert duplicate.status_code == 409
    assert await users_db.fetchval("SELECT count(*) FROM users.outbox") == before


async def next_event(js: Any, prefix: str, event_type: str, subject: str) -> EventEnvelope:
    """The first event of ``event_type`` about ``subject`` on the users stream."""
    await ensure_stream(js, "users", prefix)
    sub = await js.pull_subscribe(
        nats_subject(event_type, prefix),
        stream=stream_name("users", prefix),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                try:
                    messages = await sub.fetch(10, timeout=1)
                except nats.errors.TimeoutError:
                    continue
                for msg in messages:
                    envelope = EventEnvelope.model_validate_json(msg.data)
                    await msg.ack()
                    if envelope.subject == subject:
                        return envelope
    finally:
        await sub.unsubscribe()
