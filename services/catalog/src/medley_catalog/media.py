"""Images and descriptions of tracks, albums and artists: an image is kept once per URL,
a description once per source and language."""

from __future__ import annotations

import re
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.queries import EntityType
from medley_catalog.writes import not_blank, positive, require_live, touch
from medley_core.db import driver_connection
from medley_core.errors import Unprocessable
from medley_core.ids import new_id

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_DIMENSION = 100_000
MAX_DESCRIPTION = 20_000


def check_image(url: str, width: int | None, height: int | None) -> str:
    """The image's url stripped; 422 for a url that is not http(s) or half dimensions."""
    url = not_blank(url, "url")
    if not url.startswith(("https://", "http://")):
        raise Unprocessable("an image url must be http(s)", field="url")
    if (width is None) != (height is None):
        raise Unprocessable("give both width and height, or neither", field="width")
    positive(width, "width", MAX_DIMENSION)
    positive(height, "height", MAX_DIMENSION)
    return url


def check_description(text: str, language: str) -> str:
    """The description's text stripped; 422 for a bad language tag or a blank or long text."""
    if not _LANGUAGE.match(language):
        raise Unprocessable(
            "language must be a BCP 47 tag such as 'en' or 'pt-BR'", field="language"
        )
    body = (text or "").strip()
    if not body:
        raise Unprocessable("text must not be blank", field="text")
    if len(body) > MAX_DESCRIPTION:
        raise Unprocessable("text is at most 20,000 characters", field="text")
    return body


async def add_image(
    session: AsyncSession,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    *,
    url: str,
    kind: str = "cover",
    width: int | None = None,
    height: int | None = None,
    source: str | None = None,
) -> uuid.UUID:
    """Add an image to a live entity (merges followed; idempotent per URL: a second add
    updates its kind, size and source). Returns the entity's id."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    url = check_image(url, width, height)
    await conn.execute(
        """
        INSERT INTO images (id, entity_type, entity_id, url, kind, width, height, source)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (entity_type, entity_id, url) DO UPDATE
            SET kind = EXCLUDED.kind, width = EXCLUDED.width, height = EXCLUDED.height,
                source = EXCLUDED.source
        """,
        new_id(),
        entity_type,
        entity_id,
        url,
        not_blank(kind, "kind"),
        width,
        height,
        source,
    )
    await touch(session, entity_type, entity_id)
    return entity_id


async def set_description(
    session: AsyncSession,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    *,
    text: str,
    source: str,
    language: str,
) -> uuid.UUID:
    """Set the description of a live entity (merges followed) from ``source`` in
    ``language`` (one per source and language). Returns the entity's id."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    body = check_description(text, language)
    await conn.execute(
        """
        INSERT INTO descriptions (id, entity_type, entity_id, text, source, language)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (entity_type, entity_id, source, language) DO UPDATE
            SET text = EXCLUDED.text, updated_at = now()
        """,
        new_id(),
        entity_type,
        entity_id,
        body,
        not_blank(source, "source"),
        language,
    )
    await touch(session, entity_type, entity_id)
    return entity_id
