"""``/api/v1/me/listens``, ``/api/v1/me/likes`` and ``/api/v1/me/stats``: the caller's own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, put
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from medley_core.auth import require_user
from medley_core.params import parse_id
from medley_ingestion import likes, listens, stats
from medley_ingestion.api.answers import (
    ActivityAnswer,
    LikeOut,
    ListenPage,
    TopAnswer,
    TotalsAnswer,
    answer,
)
from medley_ingestion.api.common import UuidPath, optional_id
from medley_ingestion.api.deps import Caller, Session

TOP_ENTITIES: dict[str, stats.Entity] = {
    "tracks": "tracks",
    "artists": "artists",
    "albums": "albums",
}
RangeParam = Annotated[
    stats.Range, QueryParameter(description="a ListenBrainz range (this_week … all_time)")
]


class ListensController(Controller):
    path = "/api/v1/me/listens"
    tags = ["listens"]
    guards = [require_user()]

    @get("/", summary="My listens, newest first (keyset pages; filters by time and track)")
    async def list_listens(
        self,
        db_session: Session,
        principal: Caller,
        since: Annotated[datetime | None, QueryParameter(description="from (inclusive)")] = None,
        until: Annotated[datetime | None, QueryParameter(description="to (exclusive)")] = None,
        track_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> ListenPage:
        query = listens.ListenQuery(
            since=since,
            until=until,
            track_id=optional_id(track_id, "track_id"),
            before=listens.decode_cursor(cursor) if cursor else None,
        )
        found = await listens.page(db_session, principal.user_id, query, limit=limit)
        return answer(found, ListenPage)

    @delete("/{listen_id:str}", status_code=HTTP_204_NO_CONTENT, summary="Delete one of my listens")
    async def delete_listen(
        self, db_session: Session, principal: Caller, listen_id: UuidPath
    ) -> None:
        await listens.delete_listen(db_session, principal.user_id, parse_id(listen_id, "listen_id"))


class LikesController(Controller):
    path = "/api/v1/me/likes"
    tags = ["likes"]
    guards = [require_user()]

    @get("/{track_id:str}", summary="Whether I like a track")
    async def get_like(self, db_session: Session, principal: Caller, track_id: UuidPath) -> LikeOut:
        found = await likes.get_like(db_session, principal.user_id, parse_id(track_id, "track_id"))
        return answer(found, LikeOut)

    @put("/{track_id:str}", summary="Like a track")
    async def put_like(self, db_session: Session, principal: Caller, track_id: UuidPath) -> LikeOut:
        liked = await likes.like(db_session, principal.user_id, parse_id(track_id, "track_id"))
        return answer(liked, LikeOut)

    @delete("/{track_id:str}", status_code=HTTP_204_NO_CONTENT, summary="Unlike a track")
    async def delete_like(self, db_session: Session, principal: Caller, track_id: UuidPath) -> None:
        await likes.unlike(db_session, principal.user_id, parse_id(track_id, "track_id"))


class StatsController(Controller):
    path = "/api/v1/me/stats"
    tags = ["stats"]
    guards = [require_user()]

    @get(
        [f"/top-{entity}" for entity in TOP_ENTITIES],
        summary="My most played tracks, artists or albums over a range",
    )
    async def top(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        range: RangeParam = "all_time",
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 25,
    ) -> TopAnswer:
        entity = TOP_ENTITIES[request.url.path.rsplit("/top-", 1)[1]]
        found = await stats.top_report(db_session, principal.user_id, entity, range, limit=limit)
        return answer(found, TopAnswer)

    @get("/activity", summary="My listens per day, hour or weekday (UTC) over a range")
    async def activity(
        self,
        db_session: Session,
        principal: Caller,
        range: RangeParam = "all_time",
        by: Annotated[stats.ActivityBy, QueryParameter()] = "day",
    ) -> ActivityAnswer:
        found = await stats.activity_report(db_session, principal.user_id, range, by)
        return answer(found, ActivityAnswer)

    @get("/totals", summary="My listens, distinct tracks, artists and albums, time listened")
    async def totals(
        self,
        db_session: Session,
        principal: Caller,
        range: RangeParam = "all_time",
    ) -> TotalsAnswer:
        return answer(await stats.totals_report(db_session, principal.user_id, range), TotalsAnswer)
