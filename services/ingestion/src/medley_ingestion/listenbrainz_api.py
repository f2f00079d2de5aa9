"""ListenBrainz's API (``/1/…``) over Medley's plays, likes and stats, exactly as
ListenBrainz documents it, so scrobbling clients work unchanged.

Validation follows ListenBrainz's own rules and words (its errors are ``{"code": 400,
"error": "…"}``, see :class:`LBError`): at most 1,000 listens per request and 10,240 bytes
per listen; ``single`` and ``playing_now`` carry exactly one; ``listened_at`` from
2002-10-01 to an hour from now; ``track_name`` and ``artist_name`` non-empty strings;
``playing_now`` without ``listened_at``; MBIDs in ``additional_info`` well formed.

A submission's tracks become connector tracks of the source ``scrobble`` (a known one costs
no catalog call; unknown ones are resolved in one batch), and its listens go through the
same set-based store as imports: a retried submission adds nothing, and a scrobble within 90
s of an imported play of the track is the same listen.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments, never from input.

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.catalog_client import CatalogClient
from medley_core.db import driver_connection
from medley_core.errors import Problem
from medley_core.ids import new_id, utcnow
from medley_ingestion import events, likes, listens, stats
from medley_ingestion.connector_tracks import ConnectorTracks
from medley_ingestion.importers.common import UUID_SHAPE
from medley_ingestion.importers.listenbrainz import track_from_metadata
from medley_ingestion.importers.records import EARLIEST_LISTEN, FUTURE_SLACK
from medley_ingestion.plays import delete_plays, store_plays
from medley_ingestion.settings import IngestionSettings

log = logging.getLogger("medley.ingestion.listenbrainz")

SOURCE = "scrobble"
LISTEN_TYPES = ("single", "playing_now", "import")
MAX_LISTENS_PER_REQUEST = 1000
MAX_LISTEN_SIZE = 10240
MAX_ITEMS_PER_GET = 1000
DEFAULT_ITEMS_PER_GET = 25
MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MBID_KEYS = ("recording_mbid", "release_mbid", "release_group_mbid", "track_mbid")
MBID_LIST_KEYS = ("artist_mbids", "work_mbids")
LISTEN_MINIMUM_TS = int(EARLIEST_LISTEN.timestamp())


class LBError(Problem):
    """An error ListenBrainz-style: ``{"code": status, "error": detail}``."""

    def __init__(self, status: int, detail: str, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.lb_status = status

    @property
    def code(self) -> int:
        return self.lb_status


def bad_request(message: str) -> LBError:
    return LBError(400, message)


@dataclass(frozen=True)
class Listener:
    """Who a ListenBrainz request acts for."""

    user_id: uuid.UUID
    username: str


# --- submit-listens ----------------------------------------------------------------------


def parse_submission(raw: bytes) -> tuple[str, list[dict[str, Any]]]:
    """``(listen_type, payload)`` of a submission body, validated as ListenBrainz does."""
    data = parse_json(raw)
    if not isinstance(data, dict) or "payload" not in data or "listen_type" not in data:
        raise bad_request("Invalid JSON document submitted.")
    payload, listen_type = data["payload"], data["listen_type"]
    if not isinstance(payload, list):
        raise bad_request("Invalid JSON document submitted.")
    if len(payload) == 0:
        raise bad_request("JSON document does not contain any listens")
    if listen_type not in LISTEN_TYPES:
        raise bad_request("JSON document requires a valid listen_type key.")
    if listen_type in ("single", "playing_now") and len(payload) > 1:
        raise bad_request(
            "JSON document contains more than listen for a single/playing_now. "
            "It should contain only one."
        )
    if len(payload) > MAX_LISTENS_PER_REQUEST:
        raise bad_request(
            f"Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} "
            "listens at once."
        )
    now = int(utcnow().timestamp())
    for listen in payload:
        validate_listen(listen, listen_type, now)
    return listen_type, payload


def parse_json(raw: bytes) -> Any:
    """A JSON body, whatever its Content-Type said; 400 as ListenBrainz words it."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise bad_request(f"Cannot parse JSON document: {exc}") from None


def validate_listen(listen: Any, listen_type: str, now: int) -> None:
    if not isinstance(listen, dict) or not listen:
        raise bad_request("Listen is empty and cannot be validated.")
    try:
        text = json.dumps(listen, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("The listen holds text that is not valid Unicode.") from None
    if "\\u0000" in text:  # json.dumps writes a NUL as its escape
        raise bad_request("The listen holds a NUL character.")
    if len(json.dumps(listen)) > MAX_LISTEN_SIZE:
        raise bad_request(
            f"Listen is too large. A listen may not be larger than {MAX_LISTEN_SIZE} characters."
        )
    if listen_type in ("single", "import"):
        if "listened_at" not in listen:
            raise bad_request("JSON document must contain the key listened_at at the top level.")
        value = listen["listened_at"]
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise bad_request("JSON document must contain an int value for listened_at.")
        try:
            listened_at = int(value)
        except ValueError:
            raise bad_request("JSON document must contain an int value for listened_at.") from None
        listen["listened_at"] = listened_at
        if set(listen) - {"listened_at", "track_metadata"}:
            raise bad_request(
                "JSON document may only contain listened_at and track_metadata top level keys"
            )
        if listened_at < LISTEN_MINIMUM_TS:
            raise bad_request(
                f"Value for key listened_at is too low. listened_at timestamp should be greater "
                f"than {LISTEN_MINIMUM_TS} (2002-10-01 00:00:00 UTC)."
            )
        if listened_at > now + int(FUTURE_SLACK.total_seconds()):
            raise bad_request(
                "Value for key listened_at is too high. listened_at timestamp should be less "
                "than an hour from now."
            )
    elif "listened_at" in listen:
        raise bad_request(
            "JSON document must not contain listened_at while submitting playing_now."
        )
    elif set(listen) - {"track_metadata"}:
        raise bad_request(
            "JSON document may only contain track_metadata as top level key when submitting "
            "playing_now."
        )
    metadata = listen.get("track_metadata")
    if not isinstance(metadata, dict):
        raise bad_request("JSON document does not contain required track_metadata.")
    _validate_metadata(metadata)


def _validate_metadata(metadata: dict[str, Any]) -> None:
    for key in ("artist_name", "track_name"):
        if key not in metadata:
            raise bad_request(f"JSON document does not contain required track_metadata.{key}.")
        if not isinstance(metadata[key], str):
            raise bad_request(f"track_metadata.{key} must be a single string.")
        if not metadata[key].strip():
            raise bad_request(f"JSON document does not contain required track_metadata.{key}.")
    release = metadata.get("release_name")
    if release is not None and not isinstance(release, str):
        raise bad_request("track_metadata.release_name must be a single string.")
    info = metadata.get("additional_info")
    if info is None:
        return
    if not isinstance(info, dict):
        raise bad_request("track_metadata.additional_info must be an object.")
    _validate_additional_info(info)


def _validate_additional_info(info: dict[str, Any]) -> None:
    tags = info.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise bad_request(
                f"JSON document may not contain more than {MAX_TAGS} items in "
                "track_metadata.additional_info.tags."
            )
        for tag in tags:
            if not isinstance(tag, str) or len(tag) > MAX_TAG_LENGTH:
                raise bad_request(
                    f"JSON document may not contain track_metadata.additional_info.tags longer "
                    f"than {MAX_TAG_LENGTH} characters."
                )
    if "duration" in info and "duration_ms" in info:
        raise bad_request("JSON document should not contain both duration and duration_ms.")
    for key in ("duration", "duration_ms"):
        if key in info:
            value = info[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise bad_request(f"Value for {key} is invalid, should be a positive integer.")
    for key in MBID_KEYS:
        value = info.get(key)
        if value is not None and not (isinstance(value, str) and UUID_SHAPE.match(value)):
            raise bad_request(f"{key} MBID format invalid.")
    for key in MBID_LIST_KEYS:
        values = info.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not all(
            isinstance(v, str) and UUID_SHAPE.match(v) for v in values
        ):
            raise bad_request(f"{key} MBID format invalid.")


async def submit(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    catalog: CatalogClient,
    settings: IngestionSettings,
    listener: Listener,
    raw: bytes,
) -> dict[str, str]:
    """``POST /1/submit-listens``: ``{"status": "ok"}``."""
    listen_type, payload = parse_submission(raw)
    if listen_type == "playing_now":
        await _playing_now(session, listener, payload[0]["track_metadata"], settings)
        return {"status": "ok"}
    tracks = []
    for listen in payload:
        track = track_from_metadata(listen["track_metadata"])
        assert track is not None  # validated
        tracks.append(track)
    known = await ConnectorTracks(sessions, catalog, SOURCE).ensure(tracks)
    rows = []
    for listen, track in zip(payload, tracks, strict=True):
        found = known[track.key]
        if found.track_id is None:
            log.info(
                "a listen of %r by %r not stored: %s", track.title, track.artist, found.refused
            )
            continue
        info = listen["track_metadata"].get("additional_info") or {}
        client = info.get("submission_client") or info.get("media_player")
        rows.append(
            (
                new_id(),
                listener.user_id,
                found.track_id,
                datetime.fromtimestamp(listen["listened_at"], tz=UTC),
                None,  # a scrobble says when it started, not how long it was heard
                SOURCE,
                None,
                client if isinstance(client, str) else None,
                found.id,
            )
        )
    conn = await driver_connection(session)
    stored = await store_plays(
        conn, listener.user_id, rows, duplicate_window_s=settings.duplicate_window_s
    )
    if stored:
        events.listens_recorded(session, listener.user_id, stored)
    return {"status": "ok"}


async def _playing_now(
    session: AsyncSession, listener: Listener, metadata: dict[str, Any], settings: IngestionSettings
) -> None:
    info = metadata.get("additional_info") or {}
    seconds = (
        info["duration_ms"] / 1000
        if "duration_ms" in info
        else info.get("duration", settings.playing_now_default_s)
    )
    now = utcnow()
    conn = await driver_connection(session)
    await conn.execute(
        "INSERT INTO playing_now (user_id, track_metadata, started_at, expires_at) "
        "VALUES ($1, $2::jsonb, $3, $4) ON CONFLICT (user_id) DO UPDATE SET "
        "track_metadata = excluded.track_metadata, started_at = excluded.started_at, "
        "expires_at = excluded.expires_at",
        listener.user_id,
        json.dumps(metadata),
        now,
        now + timedelta(seconds=float(seconds)),
    )


# --- reading ----------------------------------------------------------------------------


def track_metadata(row: Any) -> dict[str, Any]:
    """A stored listen's ``track_metadata`` as ListenBrainz answers it: what the source said,
    with the ids Medley knows."""
    info = dict(json.loads(row["extra"]) if isinstance(row["extra"], str) else row["extra"] or {})
    for key, value in (
        ("recording_mbid", row["recording_mbid"]),
        ("isrc", row["isrc"]),
        (
            "spotify_id",
            f"https://open.spotify.com/track/{row['spotify_id']}" if row["spotify_id"] else None,
        ),
        ("duration_ms", row["source_duration_ms"]),
    ):
        if value is not None:
            info.setdefault(key, value)
    info["recording_msid"] = str(row["recording_msid"] or row["connector_track_id"])
    info["medley_track_id"] = str(row["track_id"])
    return {
        "artist_name": row["source_artist"],
        "track_name": row["source_title"],
        "release_name": row["source_album"],
        "additional_info": info,
    }


def _lb_listen(row: Any, username: str) -> dict[str, Any]:
    metadata = track_metadata(row)
    return {
        "inserted_at": int(row["inserted_at"].timestamp()),
        "listened_at": int(row["listened_at"].timestamp()),
        "recording_msid": metadata["additional_info"]["recording_msid"],
        "track_metadata": metadata,
        "user_name": username,
    }


def _ts_param(value: int | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise bad_request(f"{name} should be a valid Unix timestamp") from None


async def user_listens(
    session: AsyncSession,
    listener: Listener,
    *,
    min_ts: int | None,
    max_ts: int | None,
    count: int | None,
) -> dict[str, Any]:
    """``GET /1/user/{user}/listens``: newest first, ``min_ts``/``max_ts`` exclusive."""
    limit = min(max(count if count is not None else DEFAULT_ITEMS_PER_GET, 0), MAX_ITEMS_PER_GET)
    since, until = _ts_param(min_ts, "min_ts"), _ts_param(max_ts, "max_ts")
    # Exclusive bounds on whole seconds: after min_ts means from min_ts + 1.
    query = listens.ListenQuery(
        since=since + timedelta(seconds=1) if since else None,
        until=until,
        oldest_first=since is not None and until is None,
    )
    conn = await driver_connection(session)
    rows = await listens.fetch(conn, listener.user_id, query, limit) if limit else []
    if query.oldest_first:
        rows.reverse()
    _, oldest, latest = await listens.bounds(conn, listener.user_id)
    return {
        "payload": {
            "count": len(rows),
            "latest_listen_ts": latest,
            "oldest_listen_ts": oldest,
            "user_id": listener.username,
            "listens": [_lb_listen(r, listener.username) for r in rows],
        }
    }


async def listen_count(session: AsyncSession, listener: Listener) -> dict[str, Any]:
    conn = await driver_connection(session)
    count, _, _ = await listens.bounds(conn, listener.user_id)
    return {"payload": {"count": count}}


async def playing_now(session: AsyncSession, listener: Listener) -> dict[str, Any]:
    conn = await driver_connection(session)
    row = await conn.fetchrow(
        "SELECT track_metadata FROM playing_now WHERE user_id = $1 AND expires_at > now()",
        listener.user_id,
    )
    found = []
    if row is not None:
        metadata = row["track_metadata"]
        found.append(
            {
                "playing_now": True,
                "track_metadata": json.loads(metadata) if isinstance(metadata, str) else metadata,
            }
        )
    return {
        "payload": {
            "count": len(found),
            "listens": found,
            "playing_now": True,
            "user_id": listener.username,
        }
    }


async def delete_listen(session: AsyncSession, listener: Listener, raw: bytes) -> dict[str, str]:
    """``POST /1/delete-listen`` ``{"listened_at": int, "recording_msid": "…"}``."""
    data = parse_json(raw)
    if not isinstance(data, dict) or "listened_at" not in data:
        raise bad_request("Listen timestamp missing.")
    if "recording_msid" not in data:
        raise bad_request("Recording MSID missing.")
    listened_at, msid = data["listened_at"], data["recording_msid"]
    if isinstance(listened_at, bool) or not isinstance(listened_at, int):
        raise bad_request("invalid listened_at timestamp")
    if not isinstance(msid, str) or not UUID_SHAPE.match(msid):
        raise bad_request(f"{msid} MSID format invalid.")
    at = _ts_param(listened_at, "listened_at")
    conn = await driver_connection(session)
    ids = await conn.fetch(
        "SELECT p.id FROM plays p JOIN connector_tracks c ON c.id = p.connector_track_id "
        "WHERE p.user_id = $1 AND p.listened_at >= $2 AND p.listened_at < $2 + interval '1 second' "
        "AND (c.recording_msid = $3 OR c.id::text = $3)",
        listener.user_id,
        at,
        msid.lower(),
    )
    await delete_plays(conn, listener.user_id, [r["id"] for r in ids])
    return {"status": "ok"}


# --- latest import ----------------------------------------------------------------------


async def latest_import(session: AsyncSession, listener: Listener) -> dict[str, Any]:
    conn = await driver_connection(session)
    at = await conn.fetchval(
        "SELECT position_at FROM sync_checkpoints WHERE user_id = $1 AND source = $2 "
        "AND entity_type = 'latest_import'",
        listener.user_id,
        SOURCE,
    )
    return {"latest_import": int(at.timestamp()) if at else 0, "musicbrainz_id": listener.username}


async def set_latest_import(
    session: AsyncSession, listener: Listener, raw: bytes
) -> dict[str, str]:
    data = parse_json(raw)
    try:
        ts = int(data["ts"])
    except (ValueError, KeyError, TypeError):
        raise bad_request("Invalid data sent") from None
    at = _ts_param(ts, "ts")
    conn = await driver_connection(session)
    await conn.execute(
        "INSERT INTO sync_checkpoints (user_id, source, entity_type, position_at) "
        "VALUES ($1, $2, 'latest_import', $3) ON CONFLICT (user_id, source, entity_type) "
        "DO UPDATE SET position_at = excluded.position_at, updated_at = now()",
        listener.user_id,
        SOURCE,
        at,
    )
    return {"status": "ok"}


# --- feedback ---------------------------------------------------------------------------


async def recording_feedback(
    session: AsyncSession, listener: Listener, raw: bytes
) -> dict[str, str]:
    """``POST /1/feedback/recording-feedback``: love (1), hate (-1) or forget (0) a recording
    named by ``recording_msid`` or ``recording_mbid``."""
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise bad_request("Invalid JSON document submitted.")
    score = data.get("score")
    if score not in (-1, 0, 1) or isinstance(score, bool):
        raise bad_request("Score must be one of -1, 0 or 1.")
    msid, mbid = data.get("recording_msid"), data.get("recording_mbid")
    if msid is None and mbid is None:
        raise bad_request("JSON document must contain either recording_msid or recording_mbid")
    for value in (msid, mbid):
        if value is not None and not (isinstance(value, str) and UUID_SHAPE.match(value)):
            raise bad_request(f"{value} is not a valid MBID or MSID.")
    conn = await driver_connection(session)
    found = await conn.fetchrow(
        "SELECT id, track_id FROM connector_tracks WHERE track_id IS NOT NULL AND "
        "(recording_msid = $1 OR id::text = $1 OR recording_mbid = $2) ORDER BY id LIMIT 1",
        msid.lower() if msid else None,
        mbid.lower() if mbid else None,
    )
    if found is None:
        raise LBError(404, "Medley knows no listen of this recording yet.")
    if score == 0:
        with contextlib.suppress(Problem):  # nothing to forget
            await likes.unlike(session, listener.user_id, found["track_id"])
    else:
        await likes.like(session, listener.user_id, found["track_id"], score, found["id"])
    return {"status": "ok"}


async def get_feedback(
    session: AsyncSession,
    listener: Listener,
    *,
    score: int | None,
    count: int,
    offset: int,
) -> dict[str, Any]:
    conn = await driver_connection(session)
    where = "l.user_id = $1" + (" AND l.score = $2" if score is not None else "")
    args: list[Any] = [listener.user_id] + ([score] if score is not None else [])
    total = await conn.fetchval(f"SELECT count(*) FROM likes l WHERE {where}", *args)
    n = len(args)
    rows = await conn.fetch(
        "SELECT l.score, l.liked_at, l.track_id, c.id AS connector_track_id, c.recording_msid, "
        "c.recording_mbid FROM likes l "
        "LEFT JOIN connector_tracks c ON c.id = l.connector_track_id "
        f"WHERE {where} ORDER BY l.liked_at DESC, l.id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        min(max(count, 0), MAX_ITEMS_PER_GET),
        max(offset, 0),
    )
    return {
        "count": len(rows),
        "offset": offset,
        "total_count": int(total),
        "feedback": [
            {
                "created": int(r["liked_at"].timestamp()),
                "recording_mbid": r["recording_mbid"],
                "recording_msid": str(
                    r["recording_msid"] or r["connector_track_id"] or r["track_id"]
                ),
                "score": r["score"],
                "track_metadata": None,
                "user_id": listener.username,
            }
            for r in rows
        ],
    }


# --- stats ------------------------------------------------------------------------------

STAT_ENTITIES: dict[str, tuple[stats.Entity, str]] = {
    "artists": ("artists", "total_artist_count"),
    "releases": ("albums", "total_release_count"),
    "recordings": ("tracks", "total_recording_count"),
}


def _stat_item(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    artist_mbids: list[str] = []
    if kind == "artists":
        return {
            "artist_mbid": None,
            "artist_mbids": artist_mbids,
            "artist_name": row["artist_name"],
            "listen_count": row["listen_count"],
        }
    if kind == "releases":
        return {
            "artist_mbids": artist_mbids,
            "artist_name": row["artist_names"],
            "release_mbid": None,
            "release_name": row["album_title"],
            "listen_count": row["listen_count"],
        }
    return {
        "artist_mbids": artist_mbids,
        "artist_name": row["artist_names"],
        "recording_mbid": None,
        "release_mbid": None,
        "release_name": row["album_title"],
        "track_name": row["title"],
        "listen_count": row["listen_count"],
    }


def check_range(name: str) -> str:
    if name not in stats.RANGES:
        raise bad_request(f"Invalid range: {name}")
    return name


async def entity_stats(
    session: AsyncSession,
    listener: Listener,
    kind: str,
    *,
    range_name: str,
    count: int,
    offset: int,
) -> dict[str, Any] | None:
    """``GET /1/stats/user/{user}/{artists|releases|recordings}``; None when there is
    nothing in the range (ListenBrainz answers 204 then)."""
    entity, total_key = STAT_ENTITIES[kind]
    p = stats.period(check_range(range_name))
    conn = await driver_connection(session)
    items, total = await stats.top(
        conn,
        listener.user_id,
        entity,
        p,
        limit=min(max(count, 0), MAX_ITEMS_PER_GET),
        offset=max(offset, 0),
    )
    if total == 0:
        return None
    return {
        "payload": {
            kind: [_stat_item(kind, item) for item in items],
            "count": len(items),
            "offset": offset,
            "range": range_name,
            "from_ts": p.start_ts or await _first_ts(conn, listener.user_id),
            "to_ts": p.end_ts or int(utcnow().timestamp()),
            "last_updated": int(utcnow().timestamp()),
            total_key: total,
            "user_id": listener.username,
        }
    }


async def _first_ts(conn: Any, user_id: uuid.UUID) -> int:
    _, oldest, _ = await listens.bounds(conn, user_id)
    return oldest


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


async def listening_activity(
    session: AsyncSession, listener: Listener, *, range_name: str
) -> dict[str, Any] | None:
    """Listens per day (week and month ranges), per month (year ranges) or per year."""
    p = stats.period(check_range(range_name))
    by: stats.ActivityBy = (
        "day"
        if range_name in ("this_week", "this_month", "week", "month")
        else "year"
        if range_name == "all_time"
        else "month"
    )
    conn = await driver_connection(session)
    rows = await stats.activity(conn, listener.user_id, p, by)
    if not rows:
        return None
    activity = []
    for row in rows:
        start = datetime(row["bucket"].year, row["bucket"].month, row["bucket"].day, tzinfo=UTC)
        if by == "day":
            end, label = start + timedelta(days=1), start.strftime("%A %d %B %Y")
        elif by == "month":
            month = start.month % 12 + 1
            end = start.replace(year=start.year + (start.month == 12), month=month)
            label = start.strftime("%B %Y")
        else:
            end, label = start.replace(year=start.year + 1), str(start.year)
        activity.append(
            {
                "from_ts": int(start.timestamp()),
                "to_ts": int(end.timestamp()),
                "time_range": label,
                "listen_count": row["listen_count"],
            }
        )
    return {
        "payload": {
            "listening_activity": activity,
            "from_ts": p.start_ts or activity[0]["from_ts"],
            "to_ts": p.end_ts or activity[-1]["to_ts"],
            "range": range_name,
            "last_updated": int(utcnow().timestamp()),
            "user_id": listener.username,
        }
    }


async def daily_activity(
    session: AsyncSession, listener: Listener, *, range_name: str
) -> dict[str, Any] | None:
    """Listens per weekday and hour (UTC)."""
    p = stats.period(check_range(range_name))
    conn = await driver_connection(session)
    cells = await stats.weekday_hours(conn, listener.user_id, p)
    if not cells:
        return None
    return {
        "payload": {
            "daily_activity": {
                name: [{"hour": h, "listen_count": cells.get((day, h), 0)} for h in range(24)]
                for day, name in enumerate(_WEEKDAYS, start=1)
            },
            "from_ts": p.start_ts or await _first_ts(conn, listener.user_id),
            "to_ts": p.end_ts or int(utcnow().timestamp()),
            "range": range_name,
            "last_updated": int(utcnow().timestamp()),
            "user_id": listener.username,
        }
    }
