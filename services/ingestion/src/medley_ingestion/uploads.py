"""Receiving an upload: a ``multipart/form-data`` body streamed to disk, never held whole.

The ``file`` part is written under the uploads directory as it arrives (at most
``max_bytes``: past that the part file is removed and the answer is 413); the optional
``format`` part names the export the file must be. Nothing here knows the web framework: it
reads an async iterator of body chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePath

import multipart

from medley_core.errors import BadRequest, ContentTooLarge, Problem, Unprocessable
from medley_core.ids import new_id

# Writes are handed to a thread a few at a time, not per network chunk.
WRITE_BATCH_BYTES = 1024 * 1024
MAX_FORMAT_BYTES = 64
MAX_FILENAME = 255
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class UnsupportedMediaType(Problem):
    status = 415
    slug = "unsupported-media-type"


@dataclass(frozen=True)
class ReceivedUpload:
    """An upload written to ``path`` (relative to the uploads directory: ``relative``)."""

    path: Path
    relative: str
    filename: str
    size: int
    requested_format: str | None


def boundary_of(content_type: str | None) -> str:
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "upload the export as multipart/form-data with a 'file' part",
            title="Unsupported Media Type",
        )
    found = _BOUNDARY.search(content_type)
    if not found:
        raise BadRequest("the multipart content type names no boundary")
    return found.group(1)


def clean_filename(raw: str | None) -> str:
    """The uploaded file's own name, without any directory, for display only."""
    name = PurePath((raw or "").replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch != "\x00")
    return name[:MAX_FILENAME] or "upload"


class _PartWriter:
    """The ``file`` part going to disk, in batches handed to a thread."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.size = 0
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._handle = path.open("wb")

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise ContentTooLarge(
                f"the upload is larger than {self.max_bytes} bytes", limit=self.max_bytes
            )
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        if self._pending_bytes >= WRITE_BATCH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending, self._pending_bytes = [], 0
            await asyncio.to_thread(self._handle.write, data)

    async def close(self) -> None:
        await self.flush()
        await asyncio.to_thread(self._handle.close)

    def discard(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)


async def receive_upload(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    uploads_dir: Path,
    *,
    max_bytes: int,
    content_length: int | None = None,
) -> ReceivedUpload:
    """Stream a multipart body's ``file`` part to a new file under ``uploads_dir``."""
    boundary = boundary_of(content_type)
    # Multipart framing adds a few hundred bytes; a body announcing far more than the file
    # may be is refused before a byte is read.
    if content_length is not None and content_length > max_bytes + 64 * 1024:
        raise ContentTooLarge(f"the upload is larger than {max_bytes} bytes", limit=max_bytes)
    await asyncio.to_thread(uploads_dir.mkdir, parents=True, exist_ok=True)
    relative = f"{new_id()}.upload"
    writer: _PartWriter | None = None
    filename: str | None = None
    requested: bytearray | None = None
    current: str | None = None
    parser = multipart.PushMultipartParser(boundary, max_segment_count=16)
    try:
        async for chunk in chunks:
            for event in parser.parse(chunk):
                if isinstance(event, multipart.MultipartSegment):
                    current = event.name
                    if current == "file" and writer is None:
                        filename = clean_filename(event.filename)
                        writer = _PartWriter(uploads_dir / relative, max_bytes)
                    elif current == "format":
                        requested = bytearray()
                elif event is None:
                    current = None
                elif current == "file" and writer is not None:
                    await writer.write(event)
                elif current == "format" and requested is not None:
                    requested.extend(event)
                    if len(requested) > MAX_FORMAT_BYTES:
                        raise Unprocessable("format is not a known format", field="format")
        parser.close()
    except multipart.MultipartError as exc:
        if writer is not None:
            writer.discard()
        raise BadRequest(f"the multipart body is malformed: {exc}") from None
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    if writer is None or filename is None:
        raise Unprocessable("the upload has no 'file' part", field="file")
    await writer.close()
    if writer.size == 0:
        with contextlib.suppress(OSError):
            writer.path.unlink()
        raise Unprocessable("the uploaded file is empty", field="file")
    fmt = requested.decode("utf-8", "replace").strip() if requested else None
    return ReceivedUpload(writer.path, relative, filename, writer.size, fmt or None)
