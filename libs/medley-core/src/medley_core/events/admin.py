"""Operator endpoints for dead letters: list, read, replay. Admins only.

Mounted by the app factory at ``/admin/dead-letters`` on every service::

    GET  /admin/dead-letters?limit=50&cursor=<next_cursor>&replayed=false
    GET  /admin/dead-letters/{id}
    POST /admin/dead-letters/{id}/replay

Every failure is a problem document: 404 unknown id, 409 ``already-replayed``,
``not-replayable`` or ``replay-failed`` (the handler raised again; its error is saved on
the dead letter and returned as ``replay_error``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeAlias

from litestar import Controller, Request, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, Parameter
from litestar.types import Guard

from medley_core.api_params import Cursor
from medley_core.auth import require_roles
from medley_core.errors import NotFound
from medley_core.events.deadletters import (
    DEFAULT_PAGE,
    MAX_PAGE,
    DeadLetter,
    DeadLetterPage,
    get_dead_letter,
    list_dead_letters,
)
from medley_core.events.runtime import EventRuntime

ADMIN_PATH = "/admin/dead-letters"

Events: TypeAlias = NamedDependency[EventRuntime]


@dataclass(frozen=True)
class ReplayResponse:
    """The replayed dead letter; ``applied`` is False if the inbox showed the event had
    already been applied (nothing ran twice)."""

    dead_letter: DeadLetter
    applied: bool


def provide_event_runtime(request: Request[Any, Any, Any]) -> EventRuntime:
    """The service's events runtime, from the state the app factory's lifespan sets."""
    events: EventRuntime = request.app.state.runtime.events
    return events


class DeadLetterController(Controller):
    path = "/"
    tags = ["admin"]

    @get("/", summary="List dead letters (oldest first, keyset pages)")
    async def list_letters(
        self,
        event_runtime: Events,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Cursor = None,
        after: Annotated[
            uuid.UUID | None,
            Parameter(description="the older form of cursor: the last id of the previous page"),
        ] = None,
        replayed: Annotated[
            bool | None, Parameter(description="true: replayed only; false: still waiting")
        ] = None,
    ) -> DeadLetterPage:
        async with event_runtime.sessions() as session, session.begin():
            return await list_dead_letters(
                session,
                limit=limit,
                cursor=cursor,
                after=after,
                replayed=replayed,
                schema=event_runtime.settings.schema_name,
            )

    @get("/{dead_letter_id:uuid}", summary="One dead letter")
    async def get_letter(
        self, event_runtime: Events, dead_letter_id: FromPath[uuid.UUID]
    ) -> DeadLetter:
        async with event_runtime.sessions() as session, session.begin():
            letter = await get_dead_letter(
                session, dead_letter_id, schema=event_runtime.settings.schema_name
            )
        if letter is None:
            raise NotFound(f"no dead letter {dead_letter_id}")
        return letter

    @post(
        "/{dead_letter_id:uuid}/replay",
        status_code=200,
        summary="Run the event's handler again and mark the dead letter replayed",
    )
    async def replay_letter(
        self, event_runtime: Events, dead_letter_id: FromPath[uuid.UUID]
    ) -> ReplayResponse:
        result = await event_runtime.replay(dead_letter_id)
        return ReplayResponse(dead_letter=result.dead_letter, applied=result.applied)


def dead_letters_router(*, guards: Sequence[Guard] | None = None) -> Router:
    """The dead-letter endpoints under ``/admin/dead-letters``.

    ``guards`` defaults to requiring the ``admin`` role; tests may pass ``[]``.
    """
    return Router(
        path=ADMIN_PATH,
        route_handlers=[DeadLetterController],
        guards=list(guards) if guards is not None else [require_roles("admin")],
        dependencies={"event_runtime": Provide(provide_event_runtime, sync_to_thread=False)},
    )
