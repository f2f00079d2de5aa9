"""A service's ``/metrics``: requests by route template and status, latency, the outbox lag,
the consumers' lag and outcomes, dead letters; read from a real app over real PostgreSQL and
NATS."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.app import create_service_app
from medley_core.events.unit_of_work import collect
from medley_core.testing.metrics import scrape, value
from medley_core.testing.tokens import TokenMint

from .conftest import (
    THING_HAPPENED,
    THING_POISONED,
    EventDb,
    SettingsFactory,
    ThingHappenedV1,
    counting_handler,
    eventually,
)


@post("/things/{key:str}", status_code=201, sync_to_thread=False)
async def make_thing(key: str, db_session: AsyncSession) -> dict[str, str]:
    event = THING_POISONED if key.startswith("poison") else THING_HAPPENED
    collect(db_session, event, ThingHappenedV1(key=key), subject=key)
    return {"key": key}


async def test_a_service_exposes_requests_events_and_lags(
    db: EventDb, make_settings: SettingsFactory
) -> None:
    settings = make_settings(consumer_max_deliver=1)
    mint = TokenMint(issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    always_fails = counting_handler(fail=lambda _envelope: True)
    app = create_service_app(
        settings,
        route_handlers=[make_thing],
        event_handlers={THING_HAPPENED.name: counting_handler(), THING_POISONED.name: always_fails},
        verifier=mint.verifier(),
    )
    # A row no envelope can carry, written an hour ago: the relay leaves it (and says why),
    # so it is the outbox's lag.
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO outbox (id, type, version, subject, data, occurred_at, created_at) "
                "VALUES (gen_random_uuid(), 'Not An Event Type', 1, 's', '{}', now(), "
                "now() - interval '1 hour')"
            )
        )
    async with AsyncTestClient(app=app) as client:
        assert (await client.post("/things/k1")).status_code == 201
        assert (await client.post("/things/poison1")).status_code == 201

        async def settled() -> bool:
            dead = await db.scalar("SELECT count(*) FROM dead_letters")
            return await db.count("k1") == 1 and dead == 1

        await eventually(settled, what="one event applied, one dead-lettered")
        assert (await client.get("/health")).status_code == 200
        response = await client.get("/metrics")
        assert response.status_code == 200
        names, samples = scrape(response.text)

    service = {"service": "evtest"}
    # Requests by route template, never the raw path (bounded label values), and status.
    route = {"path": "/things/{key}", "method": "POST", "status_code": "201"}
    assert value(samples, "medley_requests_total", **route) == 2
    assert value(samples, "medley_request_duration_seconds_count", **route) == 2
    assert not any("k1" in dict(labels).get("path", "") for _n, labels in samples)
    # The scrape itself and the health checks are not counted.
    assert not any(
        dict(labels).get("path", "").startswith(("/metrics", "/health"))
        for n, labels in samples
        if n.startswith("medley_request")
    )
    # The outbox: the stuck row waits, an hour old; the two events went out.
    assert value(samples, "medley_outbox_unpublished_events", **service) == 1
    assert value(samples, "medley_outbox_oldest_unpublished_age_seconds", **service) >= 3600
    assert value(samples, "medley_events_published_total", **service) == 2
    # The consumer: one applied, one dead-lettered, nothing left pending.
    handled = "medley_events_handled_total"
    assert value(samples, handled, outcome="applied", **service) == 1
    assert value(samples, handled, outcome="dead_lettered", **service) == 1
    assert value(samples, "medley_consumer_pending_messages", **service) == 0
    assert value(samples, "medley_consumer_ack_pending_messages", **service) == 0
    assert value(samples, "medley_dead_letters", **service) == 1
    # Families declared by every process, whether or not anything counted yet.
    for family in ("medley_upstream_errors", "medley_upstream_circuit_state"):
        assert family in names
    assert "medley_listens_imported" in names


async def test_lags_are_unknown_rather_than_wrong_when_the_database_cannot_answer(
    db: EventDb, make_settings: SettingsFactory
) -> None:
    """A scrape still answers when the lag query fails; the lags say NaN (unknown)."""
    settings = make_settings()
    mint = TokenMint(issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    app = create_service_app(
        settings,
        route_handlers=[],
        event_handlers={THING_HAPPENED.name: counting_handler()},
        verifier=mint.verifier(),
    )
    async with AsyncTestClient(app=app) as client:
        async with db.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
        try:
            response = await client.get("/metrics")
        finally:
            async with db.engine.begin() as conn:
                await conn.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
        assert response.status_code == 200
        _names, samples = scrape(response.text)
    lag: Any = value(samples, "medley_outbox_unpublished_events", service="evtest")
    assert lag != lag  # NaN
