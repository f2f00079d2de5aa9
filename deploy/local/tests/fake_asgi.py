"""A tiny ASGI app standing in for a Medley service in the launcher's tests.

``create_app`` answers ``/health/ready``, shows the ``MEDLEY_*`` environment it was given
(``/env``), who it is on PostgreSQL with the URL it was given (``/db``) and its process id
(``/pid``); ``create_failing_app`` dies at start, as a misconfigured service would;
``create_dying_app`` starts, answers its readiness probe, then dies, every time it is started.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _json(send: Send, status: int, body: Any) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _database_identity() -> dict[str, str]:
    import asyncpg

    urls = [
        value
        for key, value in os.environ.items()
        if key.startswith("MEDLEY_") and key.endswith("_DATABASE_URL")
    ]
    conn = await asyncpg.connect(urls[0])
    try:
        row = await conn.fetchrow("SELECT current_user AS role, current_schema() AS schema")
    finally:
        await conn.close()
    return {"role": row["role"], "schema": row["schema"], "urls": str(len(urls))}


def create_app() -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path in ("/health/ready", "/health/live"):
            await _json(send, 200, {"status": "ready"})
        elif path == "/env":
            env = {k: v for k, v in os.environ.items() if k.startswith("MEDLEY_")}
            await _json(send, 200, env)
        elif path == "/db":
            await _json(send, 200, await _database_identity())
        elif path == "/pid":
            await _json(send, 200, {"pid": os.getpid()})
        else:
            await _json(send, 404, {"status": 404})

    return app


def create_failing_app() -> App:
    print("fake service: MEDLEY_FAKE_SETTING is missing", file=sys.stderr, flush=True)
    raise RuntimeError("boom: the fake service refuses to start")


def create_dying_app() -> App:
    serve = create_app()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await serve(scope, receive, send)
        if scope["type"] == "http" and scope["path"].startswith("/health/"):
            # Dies only once it was found ready: a crash after start, never during it.
            asyncio.get_running_loop().call_later(0.3, _die)

    return app


def _die() -> None:
    print("fake service: dying on purpose", file=sys.stderr, flush=True)
    os._exit(3)
