"""Uploaded files: read whole, up to the bound (the request's own bound is larger)."""

from __future__ import annotations

from litestar.datastructures import UploadFile

from medley_core.errors import ContentTooLarge

MAX_FILE_BYTES = 4 * 1_048_576


async def read_upload(upload: UploadFile, limit: int = MAX_FILE_BYTES) -> bytes:
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise ContentTooLarge(f"a playlist file is at most {limit} bytes", limit=limit)
    return content
