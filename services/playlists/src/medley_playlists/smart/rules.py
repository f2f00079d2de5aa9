"""Smart-playlist rules in Navidrome's ``.nsp`` shape, parsed and checked (pure).

A document::

    {"name": "Loved, not played this year",
     "all": [{"is": {"loved": true}}, {"notInTheLast": {"lastPlayed": 365}}],
     "sort": "-playCount,title", "limit": 50}

``all`` / ``any`` hold conditions and nested groups. A condition is one operator holding one
field and its value (``{"gt": {"year": 1990}}``); ``inPlaylist`` / ``notInPlaylist`` hold the
playlist instead (``{"inPlaylist": {"id": "<playlist id>"}}``). Operators and field names are
case-insensitive; numbers may be given as strings ("1990" compares as 1990). Fields:

* the catalog's: ``title``, ``artist``, ``album``, ``genre`` (a track matches when one of
  its genres does), ``year`` (the album's), ``duration`` (seconds), ``dateAdded``;
* the owner's listening: ``playCount`` (0 for a track never played), ``lastPlayed``,
  ``loved`` (alias ``liked``), ``dateLoved`` (alias ``dateLiked``).

``sort`` is a comma list of fields, each optionally prefixed ``+`` or ``-`` (or ``random``);
``order: "desc"`` reverses it; then ``offset``, and ``limit`` or ``limitPercent``.

Anything else is an :class:`~medley_core.errors.Unprocessable` naming the rule (its path in
the document, ``all.1.any.0``) and the reason.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from medley_core.errors import Unprocessable
from medley_playlists.settings import MAX_ITEMS

FieldType = Literal["text", "genre", "number", "duration", "date", "bool"]

MAX_DEPTH = 8
MAX_CONDITIONS = 200
MAX_DAYS = 365 * 200


@dataclass(frozen=True)
class Field:
    name: str  # as exported
    type: FieldType
    listening: bool = False


FIELDS: dict[str, Field] = {
    "title": Field("title", "text"),
    "artist": Field("artist", "text"),
    "album": Field("album", "text"),
    "genre": Field("genre", "genre"),
    "year": Field("year", "number"),
    "duration": Field("duration", "duration"),
    "dateadded": Field("dateAdded", "date"),
    "playcount": Field("playCount", "number", listening=True),
    "lastplayed": Field("lastPlayed", "date", listening=True),
    "loved": Field("loved", "bool", listening=True),
    "dateloved": Field("dateLoved", "date", listening=True),
}
FIELDS["liked"] = FIELDS["loved"]
FIELDS["dateliked"] = FIELDS["dateloved"]

TEXT_OPERATORS = {"is", "isNot", "contains", "notContains", "startsWith", "endsWith"}
NUMBER_OPERATORS = {"is", "isNot", "gt", "lt", "inTheRange"}
DATE_OPERATORS = {"is", "isNot", "gt", "lt", "before", "after", "inTheRange", "inTheLast",
                  "notInTheLast"}  # fmt: skip
PRESENCE = {"isMissing", "isPresent"}
ALLOWED: dict[FieldType, set[str]] = {
    "text": TEXT_OPERATORS | PRESENCE,
    "genre": TEXT_OPERATORS | PRESENCE,
    "number": NUMBER_OPERATORS | PRESENCE,
    "duration": NUMBER_OPERATORS | PRESENCE,
    "date": DATE_OPERATORS | PRESENCE,
    "bool": {"is", "isNot"},
}
PLAYLIST_OPERATORS = {"inPlaylist", "notInPlaylist"}
OPERATORS = {op.lower(): op for op in set().union(*ALLOWED.values()) | PLAYLIST_OPERATORS}
DOCUMENT_KEYS = {"name", "comment", "all", "any", "sort", "order", "limit", "limitpercent",
                 "offset", "public"}  # fmt: skip
_SORT_TERM = re.compile(r"^([+-]?)([A-Za-z]+)$")


@dataclass(frozen=True)
class Condition:
    op: str
    field: Field | None  # None for inPlaylist / notInPlaylist
    value: Any
    path: str


@dataclass(frozen=True)
class Group:
    every: bool  # all (True) or any (False)
    parts: tuple[Condition | Group, ...]
    path: str


@dataclass(frozen=True)
class SortKey:
    field: Field | None  # None: random
    descending: bool = False


@dataclass(frozen=True)
class Rules:
    root: Group
    sort: tuple[SortKey, ...] = ()
    limit: int | None = None
    limit_percent: int | None = None
    offset: int = 0
    # The playlists inPlaylist / notInPlaylist name, with the rule naming each.
    playlists: tuple[tuple[uuid.UUID, str], ...] = ()

    @property
    def listening(self) -> bool:
        """Whether they read the owner's listening (plays, likes)."""
        return _reads_listening(self.root) or any(
            k.field is not None and k.field.listening for k in self.sort
        )


def _reads_listening(node: Condition | Group) -> bool:
    if isinstance(node, Group):
        return any(_reads_listening(part) for part in node.parts)
    return node.field is not None and node.field.listening


def invalid(path: str, reason: str) -> Unprocessable:
    where = path or "the document"
    return Unprocessable(
        f"rule {where}: {reason}", slug="invalid-rule", field=f"rules.{path}" if path else "rules",
        rule=path, reason=reason,
    )  # fmt: skip


# --- values ----------------------------------------------------------------------------------


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise invalid(path, "a number was expected, not a boolean")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise invalid(path, f"{value[:50]!r} is not a number") from None
    else:
        raise invalid(path, "a number was expected")
    if not math.isfinite(number) or abs(number) > 1e12:
        raise invalid(path, "the number is out of range")
    return number


def _date(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise invalid(path, "a date (YYYY-MM-DD) was expected")
    try:
        if len(value.strip()) == 10:
            day = date.fromisoformat(value.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid(path, f"{value[:50]!r} is not a date (YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _days(value: Any, path: str) -> int:
    days = _number(value, path)
    if days < 0 or days > MAX_DAYS or days != int(days):
        raise invalid(path, "a whole number of days was expected")
    return int(days)


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid(path, "true or false was expected")


def _text(value: Any, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(path, "a text value was expected")
    text = str(value)
    if len(text) > 500:
        raise invalid(path, "the text is longer than 500 characters")
    return text


def _scalar(field: Field, op: str, value: Any, path: str) -> Any:
    if field.type in ("text", "genre"):
        return _text(value, path)
    if field.type == "bool":
        return _bool(value, path)
    if field.type == "date":
        if op in ("inTheLast", "notInTheLast"):
            return _days(value, path)
        return _date(value, path)
    return _number(value, path)


def _value(field: Field, op: str, value: Any, path: str) -> Any:
    if op in PRESENCE:
        return None
    if op == "inTheRange":
        if not isinstance(value, list) or len(value) != 2:
            raise invalid(path, "inTheRange takes a list of two values, [from, to]")
        low, high = (_scalar(field, op, v, path) for v in value)
        if low > high:
            raise invalid(path, "inTheRange's first value is after its second")
        return (low, high)
    return _scalar(field, op, value, path)


# --- the document ----------------------------------------------------------------------------


def _condition(node: Mapping[str, Any], path: str) -> Condition:
    [(op_name, operand)] = node.items()
    op = OPERATORS.get(str(op_name).lower())
    if op is None:
        raise invalid(path, f"unknown operator {str(op_name)[:50]!r}")
    if not isinstance(operand, Mapping) or len(operand) != 1:
        raise invalid(path, f"{op} takes one field and its value, as {{{op!r}: {{field: value}}}}")
    [(field_name, value)] = operand.items()
    if op in PLAYLIST_OPERATORS:
        if str(field_name).lower() != "id":
            raise invalid(path, f'{op} takes the playlist as {{"id": "<playlist id>"}}')
        try:
            return Condition(op, None, uuid.UUID(str(value)), path)
        except ValueError:
            raise invalid(path, f"{str(value)[:50]!r} is not a playlist id") from None
    field = FIELDS.get(str(field_name).lower())
    if field is None:
        raise invalid(path, f"unknown field {str(field_name)[:50]!r}")
    if op not in ALLOWED[field.type]:
        raise invalid(path, f"{field.name} does not take {op}")
    return Condition(op, field, _value(field, op, value, path), path)


class _Counter:
    def __init__(self) -> None:
        self.conditions = 0
        self.playlists: dict[uuid.UUID, str] = {}


def _node(node: Any, path: str, depth: int, seen: _Counter) -> Condition | Group:
    if not isinstance(node, Mapping) or len(node) != 1:
        raise invalid(path, "a rule is one operator or one all/any group")
    [(key, value)] = node.items()
    if str(key).lower() in ("all", "any"):
        return _group(str(key).lower() == "all", value, path, depth + 1, seen)
    seen.conditions += 1
    if seen.conditions > MAX_CONDITIONS:
        raise invalid(path, f"at most {MAX_CONDITIONS} conditions")
    condition = _condition(node, path)
    if condition.field is None:
        seen.playlists.setdefault(condition.value, path)
    return condition


def _group(every: bool, parts: Any, path: str, depth: int, seen: _Counter) -> Group:
    if depth > MAX_DEPTH:
        raise invalid(path, f"groups nest at most {MAX_DEPTH} deep")
    if not isinstance(parts, list) or not parts:
        raise invalid(path, f"{'all' if every else 'any'} takes a non-empty list of rules")
    prefix = f"{path}." if path else ""
    name = "all" if every else "any"
    return Group(
        every,
        tuple(_node(part, f"{prefix}{name}.{i}", depth, seen) for i, part in enumerate(parts)),
        path,
    )


def _sort(value: Any, order: Any) -> tuple[SortKey, ...]:
    if order is not None and (not isinstance(order, str) or order.lower() not in ("asc", "desc")):
        raise invalid("order", "order is asc or desc")
    if value is None:
        return ()
    if not isinstance(value, str) or not value.strip():
        raise invalid("sort", "sort is a comma list of fields")
    reverse = isinstance(order, str) and order.lower() == "desc"
    keys: list[SortKey] = []
    for term in value.split(","):
        found = _SORT_TERM.match(term.strip())
        if found is None:
            raise invalid("sort", f"{term.strip()[:50]!r} is not a field to sort by")
        sign, name = found.groups()
        if name.lower() == "random":
            keys.append(SortKey(None))
            continue
        field = FIELDS.get(name.lower())
        if field is None:
            raise invalid("sort", f"unknown field {name!r}")
        keys.append(SortKey(field, (sign == "-") != reverse))
    return tuple(keys)


def _whole(document: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    found = {k.lower(): v for k, v in document.items()}.get(key.lower())
    if found is None:
        return None
    number = _number(found, key)
    if number != int(number) or not low <= number <= high:
        raise invalid(key, f"{key} is a whole number from {low} to {high}")
    return int(number)


def parse(document: Any) -> Rules:
    """The rules of an ``.nsp`` document; 422 naming the rule that is wrong."""
    if not isinstance(document, Mapping):
        raise invalid("", "the rules are a JSON object")
    unknown = [k for k in document if str(k).lower() not in DOCUMENT_KEYS]
    if unknown:
        raise invalid(str(unknown[0])[:50], "unknown key")
    groups = [k for k in document if str(k).lower() in ("all", "any")]
    if len(groups) != 1:
        raise invalid("", "the rules hold exactly one of all or any")
    seen = _Counter()
    key = groups[0]
    root = _group(str(key).lower() == "all", document[key], "", 1, seen)
    lowered = {str(k).lower(): v for k, v in document.items()}
    limit = _whole(document, "limit", 1, MAX_ITEMS)
    percent = _whole(document, "limitPercent", 1, 100)
    if limit is not None and percent is not None:
        raise invalid("limitPercent", "give limit or limitPercent, not both")
    return Rules(
        root=root,
        sort=_sort(lowered.get("sort"), lowered.get("order")),
        limit=limit,
        limit_percent=percent,
        offset=_whole(document, "offset", 0, 1_000_000) or 0,
        playlists=tuple(seen.playlists.items()),
    )
