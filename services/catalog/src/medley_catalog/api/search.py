"""Search and genres over HTTP (public reads)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from medley_catalog import genres, listing
from medley_catalog.api.deps import Session, require_writer
from medley_catalog.api.entities import Cursor, Filter, YearParam, _text_param, page_body
from medley_catalog.api.schemas import GenreIn
from medley_catalog.search import SEARCH_TYPES, SearchType, search
from medley_core.db import driver_connection
from medley_core.errors import Unprocessable


class SearchController(Controller):
    path = "/search"
    tags = ["search"]

    @get("/", summary="Typo-tolerant ranked search over tracks, albums and artists")
    async def search(
        self,
        db_session: Session,
        q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
        type: Annotated[
            str | None,
            QueryParameter(
                description="comma-separated subset of track,album,artist", max_length=40
            ),
        ] = None,
        genre: Filter = None,
        year: YearParam = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        _text_param(q, "q")
        types: list[SearchType] = list(SEARCH_TYPES)
        if type:
            asked = [t.strip() for t in type.split(",") if t.strip()]
            unknown = [t for t in asked if t not in SEARCH_TYPES]
            if unknown or not asked:
                raise Unprocessable(
                    f"type must be a comma-separated subset of {','.join(SEARCH_TYPES)}",
                    field="type",
                )
            types = [t for t in SEARCH_TYPES if t in asked]
        conn = await driver_connection(db_session)
        page = await search(
            conn,
            q,
            types=types,
            genre=_text_param(genre, "genre"),
            year=year,
            limit=limit,
            cursor=_text_param(cursor, "cursor"),
        )
        return {
            "items": page.items,
            "facets": page.facets,
            "next_cursor": page.next_cursor,
            "interpretation": page.interpretation,
            "mode": page.mode,
        }


class GenreController(Controller):
    path = "/genres"
    tags = ["genres"]

    @get("/", summary="Genres by slug, with how many tracks, albums and artists carry each")
    async def list_genres(
        self,
        db_session: Session,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        conn = await driver_connection(db_session)
        return page_body(
            await listing.list_genres(conn, limit=limit, cursor=_text_param(cursor, "cursor"))
        )

    @post("/", guards=[require_writer()], status_code=HTTP_201_CREATED, summary="Create a genre")
    async def create(self, data: JSONBody[GenreIn], db_session: Session) -> dict[str, Any]:
        return await genres.create_genre(db_session, data.name)
