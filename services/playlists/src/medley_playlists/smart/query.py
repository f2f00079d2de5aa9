"""Smart-playlist rules as one SQL query over the projections (pure: text and arguments).

Every value the user gave travels as a bind parameter; the SQL text is assembled from the
fixed fragments below. Text compares on the case-folded ``*_key`` columns (values are folded
the same way), durations in milliseconds and dates as instants, so the indexes on the
projection (artist, year, the owner's plays by last played) answer the selective rules.
"""

# ruff: noqa: S608 -- SQL is assembled from the fixed fragments here; values are bind parameters.

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from medley_playlists.smart.rules import Condition, Field, Group, Rules
from medley_playlists.text import fold

# Each field's column, as compared and as sorted.
COLUMNS: dict[str, str] = {
    "title": "t.title_key",
    "artist": "t.artist_key",
    "album": "t.album_key",
    "genre": "t.genre_keys",
    "year": "t.album_year",
    "duration": "t.duration_ms",
    "dateAdded": "t.added_at",
    "playCount": "coalesce(p.play_count, 0)",
    "lastPlayed": "p.last_played_at",
    "loved": "(l.track_id IS NOT NULL)",
    "dateLoved": "l.liked_at",
}
SORT_COLUMNS = {**COLUMNS, "genre": "t.genre_keys[1]"}

SHOWN = """
    t.id, t.title, t.artist_names, t.album_id, t.album_title, t.album_year, t.duration_ms,
    t.genres, t.added_at, coalesce(p.play_count, 0) AS play_count, p.last_played_at,
    l.track_id IS NOT NULL AS loved, l.liked_at AS loved_at
"""
# The owner's listening beside each track ($1: the owner).
SOURCE = """
    tracks t
    LEFT JOIN plays p ON p.user_id = $1 AND p.track_id = t.id
    LEFT JOIN likes l ON l.user_id = $1 AND l.track_id = t.id
"""


@dataclass
class Query:
    """SQL text and its arguments; ``$1`` is the owner."""

    owner: uuid.UUID
    now: datetime
    args: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.args = [self.owner]

    def bind(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def _like(text: str, *, prefix: bool = True, suffix: bool = True) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{'%' if prefix else ''}{escaped}{'%' if suffix else ''}"


TEXT_PATTERNS = {
    "contains": {},
    "notContains": {},
    "startsWith": {"prefix": False},
    "endsWith": {"suffix": False},
}


def _text(query: Query, field: Field, op: str, value: Any) -> str:
    column = COLUMNS[field.name]
    if field.type == "genre":
        if op in ("is", "isNot"):
            found = f"{query.bind(fold(value))} = ANY({column})"
        else:
            pattern = query.bind(_like(value, **TEXT_PATTERNS[op]))
            found = f"EXISTS (SELECT 1 FROM unnest({column}) AS g WHERE g LIKE {pattern})"
        return f"NOT ({found})" if op in ("isNot", "notContains") else found
    if op == "is":
        return f"{column} = {query.bind(fold(value))}"
    if op == "isNot":
        return f"{column} IS DISTINCT FROM {query.bind(fold(value))}"
    pattern = query.bind(_like(value, **TEXT_PATTERNS[op]))
    if op == "notContains":
        return f"coalesce({column}, '') NOT LIKE {pattern}"
    return f"{column} LIKE {pattern}"


def _number(query: Query, field: Field, op: str, value: Any) -> str:
    column = COLUMNS[field.name]
    scale = 1000 if field.type == "duration" else 1  # seconds in the rule, ms in the column
    if op == "inTheRange":
        low, high = value
        return f"{column} BETWEEN {query.bind(low * scale)} AND {query.bind(high * scale)}"
    comparison = {"is": "=", "isNot": "IS DISTINCT FROM", "gt": ">", "lt": "<"}[op]
    return f"{column} {comparison} {query.bind(value * scale)}"


DAY = timedelta(days=1)


def _date(query: Query, field: Field, op: str, value: Any) -> str:
    column = COLUMNS[field.name]
    if op in ("inTheLast", "notInTheLast"):
        since = query.bind(query.now - timedelta(days=value))
        if op == "inTheLast":
            return f"{column} >= {since}"
        # "Not in the last N days" includes never: a track never played was not played then.
        return f"({column} IS NULL OR {column} < {since})"
    if op == "inTheRange":
        low, high = value
        return f"{column} >= {query.bind(low)} AND {column} < {query.bind(high + DAY)}"
    if op in ("is", "isNot"):
        same_day = f"{column} >= {query.bind(value)} AND {column} < {query.bind(value + DAY)}"
        return same_day if op == "is" else f"NOT coalesce({same_day}, false)"
    if op in ("gt", "after"):
        return f"{column} >= {query.bind(value + DAY)}"
    return f"{column} < {query.bind(value)}"  # lt, before


def _presence(field: Field, op: str) -> str:
    column = COLUMNS[field.name]
    if field.type == "genre":
        missing = f"cardinality({column}) = 0"
    elif field.type == "text":
        missing = f"coalesce({column}, '') = ''"
    else:
        missing = f"{column} IS NULL"
    return missing if op == "isMissing" else f"NOT ({missing})"


def _condition(query: Query, condition: Condition) -> str:
    op, value = condition.op, condition.value
    if condition.field is None:  # inPlaylist / notInPlaylist
        # Only a playlist the owner may read counts (it may have turned private since).
        playlist = query.bind(value)
        inside = f"""t.id IN (
            SELECT i.track_id FROM items i JOIN playlists pl ON pl.id = i.playlist_id
            WHERE pl.id = {playlist} AND pl.deleted_at IS NULL
                AND (pl.owner_id = $1 OR pl.visibility <> 'private' OR EXISTS (
                    SELECT 1 FROM collaborators c
                    WHERE c.playlist_id = pl.id AND c.user_id = $1)))"""
        return inside if op == "inPlaylist" else f"NOT ({inside})"
    field_ = condition.field
    if op in ("isMissing", "isPresent"):
        return _presence(field_, op)
    if field_.type in ("text", "genre"):
        return _text(query, field_, op, value)
    if field_.type == "date":
        return _date(query, field_, op, value)
    if field_.type == "bool":
        column = COLUMNS[field_.name]
        return f"{column} = {query.bind(value if op == 'is' else not value)}"
    return _number(query, field_, op, value)


def where(query: Query, node: Condition | Group) -> str:
    if isinstance(node, Condition):
        return f"({_condition(query, node)})"
    joined = (" AND " if node.every else " OR ").join(where(query, part) for part in node.parts)
    return f"({joined})"


def order_by(rules: Rules) -> str:
    terms = []
    for key in rules.sort:
        if key.field is None:
            terms.append("random()")
            continue
        direction = "DESC NULLS LAST" if key.descending else "ASC NULLS LAST"
        terms.append(f"{SORT_COLUMNS[key.field.name]} {direction}")
    return ", ".join([*terms, "t.id"])


def compile_rules(
    rules: Rules, owner: uuid.UUID, now: datetime, *, skip: int = 0, take: int
) -> tuple[str, list[Any]]:
    """The query of ``rules`` for ``owner`` at ``now``: rows ``skip`` to ``skip + take`` of
    the rules' own window (offset, then limit or limit percent)."""
    query = Query(owner, now)
    condition = where(query, rules.root)
    ordering = order_by(rules)
    if rules.limit_percent is None:
        sql = f"""
            SELECT {SHOWN} FROM {SOURCE}
            WHERE t.status = 'active' AND {condition}
            ORDER BY {ordering}
            OFFSET {query.bind(rules.offset + skip)} LIMIT {query.bind(take)}"""
        return sql, query.args
    # A share of every match: rank them all, keep the first percent (after the offset).
    offset, percent = query.bind(rules.offset), query.bind(rules.limit_percent)
    sql = f"""
        SELECT * FROM (
            SELECT {SHOWN}, row_number() OVER (ORDER BY {ordering}) AS n,
                count(*) OVER () AS total
            FROM {SOURCE}
            WHERE t.status = 'active' AND {condition}
        ) AS ranked
        WHERE n > {offset} AND n <= {offset} + ceil(total * {percent} / 100.0)
        ORDER BY n OFFSET {query.bind(skip)} LIMIT {query.bind(take)}"""
    return sql, query.args
