"""The revocation feed over real NATS, and readiness that tells the truth about the broker.

Every process that verifies tokens follows the users stream with its own ordered consumer:
a revocation reaches each of them, one that starts later still learns the revocations of the
lookback window, and the feed follows again after the server restarts. A frozen NATS server
(its socket open, nothing answering) turns ``/health/ready`` to 503 within seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NATS

from medley_contracts.envelope import EventEnvelope, nats_subject
from medley_contracts.users import USER_DISABLED
from medley_core.app import create_service_app
from medley_core.events.streams import ensure_stream
from medley_core.revocation import RevocationFeed, RevocationList

from .conftest import OwnNats, SettingsFactory, eventually

EARLIER = timedelta(seconds=5)


async def publish_revocation(nc: NATS, prefix: str, user_id: uuid.UUID) -> datetime:
    """What the users service's relay publishes when an account is disabled."""
    at = datetime.now(UTC)
    envelope = EventEnvelope(
        id=uuid.uuid4(),
        type=USER_DISABLED.name,
        version=1,
        source="users",
        occurred_at=at,
        subject=str(user_id),
        data={"user_id": str(user_id), "disabled_at": at.isoformat()},
    )
    await nc.jetstream().publish(
        nats_subject(USER_DISABLED.name, prefix), envelope.model_dump_json().encode()
    )
    return at


@asynccontextmanager
async def following(
    nc: NATS, prefix: str, *, lookback_s: float = 3600
) -> AsyncIterator[RevocationList]:
    revocations = RevocationList(keep_s=lookback_s)
    feed = RevocationFeed(nc, revocations, event_prefix=prefix, lookback_s=lookback_s)
    feed.start()
    try:
        yield revocations
    finally:
        await feed.stop()


def knows(revocations: RevocationList, user_id: uuid.UUID, at: datetime) -> Callable[[], Any]:
    async def check() -> bool:
        return revocations.is_revoked(str(user_id), at - EARLIER)

    return check


async def test_a_revocation_reaches_every_feed_and_one_started_later_replays_it(
    event_infra: Any, prefix: str
) -> None:
    nc = await nats.connect(event_infra.nats_url)
    try:
        await ensure_stream(nc.jetstream(), "users", prefix)
        user, other = uuid.uuid4(), uuid.uuid4()
        async with following(nc, prefix) as first, following(nc, prefix) as second:
            at = await publish_revocation(nc, prefix, user)
            await eventually(knows(first, user, at), timeout_s=10)
            await eventually(knows(second, user, at), timeout_s=10)
            assert not first.is_revoked(str(other), at - EARLIER)

        # A process starting now still refuses the tokens of that revocation...
        async with following(nc, prefix) as late:
            await eventually(knows(late, user, at), timeout_s=10)
        # ...unless it is older than the lookback (those tokens expired already).
        await asyncio.sleep(1.0)
        async with following(nc, prefix, lookback_s=0.5) as short:
            newer = await publish_revocation(nc, prefix, other)
            await eventually(knows(short, other, newer), timeout_s=10)
            assert not short.is_revoked(str(user), at - EARLIER)
    finally:
        await nc.close()


async def test_the_feed_follows_again_after_the_server_restarts(
    own_nats: OwnNats, prefix: str
) -> None:
    await own_nats.start()
    nc = await nats.connect(own_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        await ensure_stream(nc.jetstream(), "users", prefix)
        async with following(nc, prefix) as revocations:
            before = uuid.uuid4()
            at = await publish_revocation(nc, prefix, before)
            await eventually(knows(revocations, before, at), timeout_s=10)

            own_nats.kill()
            await own_nats.start()  # same store: the stream is back, the ephemeral consumer not

            async def connected() -> bool:
                return bool(nc.is_connected)

            await eventually(connected, timeout_s=30)
            after = uuid.uuid4()
            later = await publish_revocation(nc, prefix, after)
            await eventually(knows(revocations, after, later), timeout_s=30)
            assert revocations.is_revoked(str(before), at - EARLIER)
    finally:
        await nc.close()


async def test_readiness_says_nats_is_down_while_the_server_is_frozen(
    own_nats: OwnNats, make_settings: SettingsFactory
) -> None:
    """``kill -STOP`` keeps the socket open: only a round trip tells it is not answering."""
    await own_nats.start()
    assert own_nats.process is not None
    pid = own_nats.process.pid
    app = create_service_app(make_settings(nats_url=own_nats.url), route_handlers=[])
    async with AsyncTestClient(app=app) as client:

        async def status_is(code: int) -> Callable[[], Any]:
            async def check() -> bool:
                return (await client.get("/health/ready")).status_code == code

            return check

        await eventually(await status_is(200), timeout_s=30)
        os.kill(pid, signal.SIGSTOP)
        try:
            # The readiness round trip gives up after 2 s; the bound leaves room for a
            # loaded machine, and is far below the 100 s the old check said "up" for.
            await eventually(await status_is(503), timeout_s=10)
            body = (await client.get("/health/ready")).json()
            assert body["checks"] == {"database": "up", "nats": "down"}
        finally:
            os.kill(pid, signal.SIGCONT)
        await eventually(await status_is(200), timeout_s=30)
