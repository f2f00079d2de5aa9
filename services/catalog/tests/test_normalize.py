"""The normal form names are compared in (pure functions, no database)."""

from __future__ import annotations

import pytest

from medley_catalog.normalize import (
    Credit,
    normalize_artist,
    normalize_external_id,
    normalize_isrc,
    normalize_text,
    parse_artist_credits,
    parse_title,
    primary_alternative,
    sort_name_for,
    version_tags,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Beyoncé", "beyonce"),
        ("Motörhead", "motorhead"),
        ("Sigur Rós", "sigur ros"),
        ("MØ", "mo"),
        ("Straße", "strasse"),
        ("Don\u2019t Stop Me Now", "dont stop me now"),
        ("Rock & Roll", "rock and roll"),
        ("Florence + the Machine", "florence and the machine"),
        ("AC/DC", "ac dc"),
        ("  Hello,   World!! ", "hello world"),
    ],
)
def test_text_is_folded(given: str, expected: str) -> None:
    assert normalize_text(given) == expected


def test_non_latin_scripts_keep_their_marks() -> None:
    assert normalize_text("ガガ") == "ガガ"
    assert normalize_text("Кино") == "кино"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("The Beatles", "beatles"),
        ("Beatles, The", "beatles"),
        ("the beatles", "beatles"),
        ("The The", "the"),
        ("Simon & Garfunkel", "simon and garfunkel"),
        ("Björk", "bjork"),
    ],
)
def test_artist_identity(given: str, expected: str) -> None:
    assert normalize_artist(given) == expected


def test_sort_names() -> None:
    assert sort_name_for("The Beatles") == "Beatles, The"
    assert sort_name_for("Radiohead") == "Radiohead"


@pytest.mark.parametrize(
    ("title", "norm", "variant", "featured"),
    [
        ("Comfortably Numb - 2011 Remaster", "comfortably numb", "2011 remaster", ()),
        ("Hey Jude (Remastered 2015)", "hey jude", "remastered 2015", ()),
        ("Help! (Deluxe Edition)", "help", "deluxe edition", ()),
        ("Yesterday - Mono", "yesterday", "mono", ()),
        ("Wish You Were Here (Live)", "wish you were here live", "", ()),
        ("Song - Live at Wembley", "song live at wembley", "", ()),
        ("Song (Radio Edit)", "song radio edit", "", ()),
        ("Song (Acoustic Version)", "song acoustic version", "", ()),
        ("Song (X Remix) - 2011 Remaster", "song x remix", "2011 remaster", ()),
        ("Get Lucky (feat. Pharrell Williams)", "get lucky", "", ("Pharrell Williams",)),
        ("Get Lucky [ft. Pharrell & Nile Rodgers]", "get lucky", "", ("Pharrell", "Nile Rodgers")),
        ("Stay feat. Justin Bieber", "stay", "", ("Justin Bieber",)),
        ("Ob-La-Di, Ob-La-Da", "ob la di ob la da", "", ()),
        ("(Live)", "live", "", ()),
        ("Original", "original", "", ()),
    ],
)
def test_titles_are_taken_apart(
    title: str, norm: str, variant: str, featured: tuple[str, ...]
) -> None:
    parsed = parse_title(title)
    assert (parsed.norm, parsed.variant, parsed.featured) == (norm, variant, featured)


def test_version_tags() -> None:
    assert version_tags("wish you were here live") == {"live"}
    assert version_tags("song x remix") == {"remix"}
    assert version_tags("comfortably numb") == frozenset()


def test_artist_strings_become_ordered_credits() -> None:
    assert parse_artist_credits("Daft Punk feat. Pharrell Williams & Nile Rodgers") == [
        Credit("Daft Punk", " feat. "),
        Credit("Pharrell Williams", " & "),
        Credit("Nile Rodgers", ""),
    ]
    assert parse_artist_credits("A ft. B, C and D") == [
        Credit("A", " feat. "),
        Credit("B", ", "),
        Credit("C", " & "),
        Credit("D", ""),
    ]
    # The part before "feat." is one artist: duos and bands with "&" stay whole.
    assert parse_artist_credits("Simon & Garfunkel") == [Credit("Simon & Garfunkel")]
    assert parse_artist_credits("Mø") == [Credit("Mø")]
    assert primary_alternative("Jay-Z & Kanye West") == "jay z"
    assert primary_alternative("Radiohead") is None


def test_external_ids_are_checked_and_canonical() -> None:
    assert normalize_isrc("us-rc1-76-07839") == "USRC17607839"
    assert (
        normalize_external_id("spotify", "spotify:track:4uLU6hMCjMI75M1A2tKUQC")
        == "4uLU6hMCjMI75M1A2tKUQC"
    )
    assert normalize_external_id("mbid", "B1A9C0E9-D987-4042-AE91-78D6A3267D69") == (
        "b1a9c0e9-d987-4042-ae91-78d6a3267d69"
    )
    assert normalize_external_id("discogs", " 12345 ") == "12345"
    for namespace, value in (
        ("isrc", "USRC1760783"),
        ("isrc", "12RC17607839"),
        ("mbid", "x"),
        ("spotify", "short"),
    ):
        with pytest.raises(ValueError, match="not"):
            normalize_external_id(namespace, value)
