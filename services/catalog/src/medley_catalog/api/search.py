"""Search and genres over HTTP (public reads)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from medley_catalog import genres, listing
from medley_catalog.api.answers import GenreRow, GenreTag, SearchResults
from medley_catalog.api.deps import Session, require_writer
from medley_catalog.api.entities import Filter, YearParam
from medley_catalog.api.schemas import GenreIn
from medley_catalog.search import parse_types, search
from medley_core.api_params import Cursor
from medley_core.pagination import Page
from medley_core.params import text_param


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
    ) -> SearchResults:
        page = await search(
            db_session,
            text_param(q, "q"),
            types=parse_types(type),
            genre=text_param(genre, "genre"),
            year=year,
            limit=limit,
            cursor=cursor,
        )
        return msgspec.convert(page, SearchResults, from_attributes=True)


class GenreController(Controller):
    path = "/genres"
    tags = ["genres"]

    @get("/", summary="Genres by slug, with how many tracks, albums and artists carry each")
    async def list_genres(
        self,
        read_session: Session,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        cursor: Cursor = None,
    ) -> Page[GenreRow]:
        page = await listing.list_genres(read_session, limit=limit, cursor=cursor)
        return page.convert(GenreRow)

    @post("/", guards=[require_writer()], status_code=HTTP_201_CREATED, summary="Create a genre")
    async def create(self, data: JSONBody[GenreIn], db_session: Session) -> GenreTag:
        return msgspec.convert(await genres.create_genre(db_session, data.name), GenreTag)
