"""``/api/v1/imports``: upload an export, follow, cancel and delete its job (mine only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from medley_core.auth import require_user
from medley_core.params import parse_id
from medley_ingestion import imports, jobs
from medley_ingestion.api.answers import ImportDetail, ImportOut, ImportPage, answer
from medley_ingestion.api.common import UuidPath, optional_id
from medley_ingestion.api.deps import Caller, Runtime, ServiceRt, Session, Settings


class ImportsController(Controller):
    path = "/api/v1/imports"
    tags = ["imports"]
    guards = [require_user()]

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        summary="Import an export (multipart 'file', optional 'format'); streamed to disk",
        # The body is streamed to disk with the upload limit of the settings.
        request_max_body_size=None,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        runtime: ServiceRt,
        ingestion_settings: Settings,
        ingestion: Runtime,
        principal: Caller,
    ) -> ImportOut:
        job = await imports.accept_upload(
            runtime.sessions,
            ingestion_settings,
            principal.user_id,
            request.stream(),
            content_type=request.headers.get("content-type"),
            content_length=request.content_length,
            on_queued=ingestion.wake_workers,
        )
        return answer(imports.describe(job), ImportOut)

    @get("/", summary="My imports, newest first (keyset pages)")
    async def list_imports(
        self,
        db_session: Session,
        principal: Caller,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> ImportPage:
        found = await imports.page(
            db_session, principal.user_id, before=optional_id(cursor, "cursor"), limit=limit
        )
        return answer(found, ImportPage)

    @get("/{job_id:str}", summary="One of my imports, with its progress and rejected records")
    async def get_import(
        self, db_session: Session, principal: Caller, job_id: UuidPath
    ) -> ImportDetail:
        found = await imports.detail(db_session, principal.user_id, parse_id(job_id, "job_id"))
        return answer(found, ImportDetail)

    @post("/{job_id:str}/cancel", summary="Cancel an import (what it stored stays)")
    async def cancel(self, db_session: Session, principal: Caller, job_id: UuidPath) -> ImportOut:
        job = await jobs.cancel(db_session, principal.user_id, parse_id(job_id, "job_id"))
        return answer(imports.describe(job), ImportOut)

    @delete(
        "/{job_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete an import that is not running and its upload (its listens stay)",
    )
    async def delete_import(
        self, db_session: Session, principal: Caller, ingestion_settings: Settings, job_id: UuidPath
    ) -> None:
        await jobs.delete_job(
            db_session,
            principal.user_id,
            parse_id(job_id, "job_id"),
            ingestion_settings.uploads_dir,
        )
