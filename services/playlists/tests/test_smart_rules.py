"""Smart-playlist rules (pure): what parses, and the 422 that names the rule and the reason
for what does not."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from medley_core.errors import Unprocessable
from medley_playlists.smart.query import compile_rules
from medley_playlists.smart.rules import FIELDS, parse


def test_operators_and_fields_are_case_insensitive_and_numbers_may_be_strings() -> None:
    rules = parse(
        {
            "ALL": [
                {"IsNot": {"ARTIST": "x"}},
                {"inthelast": {"lastplayed": "30"}},
                {"GT": {"Year": "1990"}},
                {"is": {"Liked": "true"}},
            ],
            "Sort": "-playCount,+Title",
            "order": "DESC",
            "LIMIT": "50",
        }
    )
    ops = [(c.op, c.field.name if c.field else None, c.value) for c in rules.root.parts]  # type: ignore[union-attr]
    assert ops == [
        ("isNot", "artist", "x"),
        ("inTheLast", "lastPlayed", 30),
        ("gt", "year", 1990.0),
        ("is", "loved", True),
    ]
    # order: desc reverses each key.
    assert [(k.field.name, k.descending) for k in rules.sort if k.field] == [
        ("playCount", False),
        ("title", True),
    ]
    assert rules.limit == 50
    assert rules.listening


def test_nested_groups_and_paths() -> None:
    playlist = uuid.uuid4()
    rules = parse({"any": [{"all": [{"inPlaylist": {"id": str(playlist)}}]}, {"is": {"title": 7}}]})
    assert rules.playlists == ((playlist, "any.0.all.0"),)
    assert not rules.listening


@pytest.mark.parametrize(
    ("document", "rule", "reason"),
    [
        ({"all": [{"is": {"colour": "red"}}]}, "all.0", "unknown field 'colour'"),
        ({"all": [{"resembles": {"title": "x"}}]}, "all.0", "unknown operator 'resembles'"),
        ({"all": [{"gt": {"title": "x"}}]}, "all.0", "title does not take gt"),
        ({"all": [{"contains": {"year": 1990}}]}, "all.0", "year does not take contains"),
        ({"all": [{"gt": {"year": "nineteen"}}]}, "all.0", "'nineteen' is not a number"),
        ({"all": [{"gt": {"year": True}}]}, "all.0", "not a boolean"),
        ({"all": [{"is": {"loved": "maybe"}}]}, "all.0", "true or false"),
        ({"all": [{"before": {"dateAdded": "yesterday"}}]}, "all.0", "is not a date"),
        ({"all": [{"inTheLast": {"lastPlayed": -3}}]}, "all.0", "whole number of days"),
        ({"all": [{"inTheRange": {"year": [2000]}}]}, "all.0", "list of two values"),
        ({"all": [{"inTheRange": {"year": [2000, 1990]}}]}, "all.0", "after its second"),
        ({"all": [{"inPlaylist": {"id": "nope"}}]}, "all.0", "not a playlist id"),
        ({"all": [{"inPlaylist": {"name": "x"}}]}, "all.0", '{"id": "<playlist id>"}'),
        ({"all": [{"is": {"title": "x", "artist": "y"}}]}, "all.0", "one field"),
        ({"all": [{"is": {"title": "x"}, "gt": {"year": 1}}]}, "all.0", "one operator"),
        ({"any": [{"all": [{"any": [{"is": {"genre": []}}]}]}]}, "any.0.all.0.any.0", "text"),
        ({"all": []}, "", "non-empty list"),
        ({"all": [{"is": {"title": "x"}}], "any": []}, "", "exactly one of all or any"),
        ({"all": [{"is": {"title": "x"}}], "limit": 0}, "limit", "from 1 to 10000"),
        ({"all": [{"is": {"title": "x"}}], "limitPercent": 101}, "limitPercent", "1 to 100"),
        ({"all": [{"is": {"title": "x"}}], "sort": "colour"}, "sort", "unknown field"),
        ({"all": [{"is": {"title": "x"}}], "order": "sideways"}, "order", "asc or desc"),
        ({"all": [{"is": {"title": "x"}}], "shuffle": True}, "shuffle", "unknown key"),
        ([], "", "a JSON object"),
    ],
)
def test_a_wrong_rule_is_named_with_the_reason(document: Any, rule: str, reason: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        parse(document)
    assert caught.value.extensions["rule"] == rule
    assert reason in caught.value.extensions["reason"]
    assert caught.value.status == 422


def test_groups_nest_only_so_deep() -> None:
    document: dict[str, Any] = {"is": {"title": "x"}}
    for _ in range(10):
        document = {"all": [document]}
    with pytest.raises(Unprocessable, match="nest at most"):
        parse(document)


def test_values_never_enter_the_sql_text() -> None:
    hostile = "x'; DROP TABLE tracks; --"
    rules = parse({"all": [{"contains": {"title": hostile}}, {"is": {"artist": hostile}}]})
    sql, args = compile_rules(rules, uuid.uuid4(), __import__("datetime").datetime.now(), take=10)
    assert "DROP" not in sql
    assert any(isinstance(a, str) and "drop table" in a for a in args)


def test_every_field_has_a_column() -> None:
    from medley_playlists.smart.query import COLUMNS

    assert {f.name for f in FIELDS.values()} == set(COLUMNS)
