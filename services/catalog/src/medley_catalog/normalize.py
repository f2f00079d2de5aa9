"""How the catalog compares names: one normal form for titles and artists, computed on write.

Everything the catalog matches or searches on is stored twice: as given (``title``) and
normalised here (``title_norm``, ``name_norm``…). Matching and search then compare plain
columns with plain indexes; nothing in SQL has to fold accents or parse credits.

The rules, in the order applied:

* **Accents and case.** NFKD, combining marks dropped after Latin/Greek/Cyrillic letters
  (so "Beyoncé" = "beyonce", "Motörhead" = "motorhead"; Japanese kana keep their marks),
  letters NFKD leaves alone transliterated (ø→o, æ→ae, ß→ss, ł→l…), then casefolded.
* **Punctuation.** ``&`` and ``+`` between words read "and"; apostrophes vanish ("don't" =
  "dont"); every other non-alphanumeric run is one space.
* **Featuring credits.** "(feat. X)", "[ft. X]", "featuring X" are not part of a title:
  they are credits. They are removed from the title and returned as featured artists. In
  an artist string, "A feat. B & C" is the primary artist A with B and C featured.
* **A leading "The"** is not part of an artist's identity: "The Beatles" = "Beatles" =
  "Beatles, The". Titles keep theirs ("The Wall" is not "Wall").
* **Versions stay distinct.** "(Live)", "- Live at Wembley", "(Remix)", "(Acoustic)",
  "(Radio Edit)" name other recordings: they stay in the normalised title.
* **Variants are split off.** "- 2011 Remaster", "(Remastered)", "(Mono)", "(Deluxe
  Edition)", "- Single Version" name the same recording re-issued: they are removed from
  the normalised title and returned as the ``variant``, so resolution can accept a variant
  as the original only when the ids or durations agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

# Letters NFKD does not decompose.
_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ß": "ss",
        "ẞ": "SS",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "\u0131": "i",  # dotless i
        "ħ": "h",
        "ŋ": "n",
        "\u2019": "'",  # right single quotation mark, the usual apostrophe
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
    }
)

_AND = re.compile(r"\s*[&+]\s*")
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)|'")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_LEADING_THE = re.compile(r"^the\s+")
_TRAILING_THE = re.compile(r",\s*the$")

# "feat." and friends, in a title or in an artist string.
_FEAT_WORD = r"(?:feat\.?|ft\.?|featuring|feat\b)"
_FEAT_BRACKETED = re.compile(rf"\s*[\(\[]\s*{_FEAT_WORD}\s+(?P<who>[^\)\]]*)[\)\]]", re.IGNORECASE)
_FEAT_TRAILING = re.compile(rf"\s+{_FEAT_WORD}\s+(?P<who>.+)$", re.IGNORECASE)
_FEAT_SPLIT = re.compile(rf"\s+{_FEAT_WORD}\s+|\s*[\(\[]\s*{_FEAT_WORD}\s+", re.IGNORECASE)
# Separators between several featured artists ("B, C & D").
_LIST_SPLIT = re.compile(r"\s*,\s*|\s+&\s+|\s+and\s+|\s+x\s+", re.IGNORECASE)
# Separators that may join two primary artists ("A & B"); only used as a second guess.
_PRIMARY_SPLIT = re.compile(r"\s*,\s*|\s+&\s+|\s+and\s+|\s+x\s+|\s+vs\.?\s+|\s*/\s*", re.IGNORECASE)

# A suffix segment: "(…)", "[…]" or " - …" at the end of a title.
_BRACKET_SEGMENT = re.compile(r"\s*[\(\[]([^\(\)\[\]]*)[\)\]]\s*$")
_DASH_SEGMENT = re.compile(r"\s+-\s+([^-]+)$")
# What any of the patterns above needs to match: a bracket, a dash or a "feat" word.
_MAY_HAVE_PARTS = re.compile(rf"[\(\[]|\s-\s|\s{_FEAT_WORD}\s", re.IGNORECASE)

# Words a re-issue of the same recording is described with. A segment made only of these
# (and years, ordinals) is a variant; one with any other word ("live", "remix", "edit",
# "acoustic", "demo"…) is another recording.
_VARIANT_WORDS = frozenset(
    {
        "remaster",
        "remastered",
        "remasterd",
        "remastering",
        "re",
        "master",
        "mastered",
        "digital",
        "digitally",
        "version",
        "edition",
        "deluxe",
        "expanded",
        "anniversary",
        "mono",
        "stereo",
        "album",
        "single",
        "lp",
        "original",
        "bonus",
        "track",
        "explicit",
        "clean",
        "the",
        "from",
        "of",
        "and",
        "special",
        "legacy",
        "reissue",
        "th",
        "st",
        "nd",
        "rd",
    }
)
# At least one of these must be present: "(Original)" alone is not a variant marker.
_VARIANT_KEYS = frozenset(
    {
        "remaster",
        "remastered",
        "remasterd",
        "remastering",
        "mastered",
        "mono",
        "stereo",
        "deluxe",
        "expanded",
        "anniversary",
        "bonus",
        "explicit",
        "clean",
        "reissue",
        "legacy",
        "version",
        "edition",
    }
)
_YEARISH = re.compile(r"^(?:\d{2}|\d{4}|\d+(?:st|nd|rd|th))$")


def _is_latin_like(char: str) -> bool:
    return ord(char) < 0x0530  # Latin, IPA, Greek, Cyrillic


def fold(text: str) -> str:
    """Case- and accent-folded text; punctuation untouched."""
    if text.isascii():  # the common case, and nothing to decompose
        return text.replace("`", "'").casefold()
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    kept: list[str] = []
    previous = ""
    for char in decomposed:
        if unicodedata.combining(char):
            if previous and _is_latin_like(previous):
                continue
        else:
            previous = char
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)).casefold()


@lru_cache(maxsize=65_536)
def normalize_text(text: str) -> str:
    """The comparable form of any text: folded, "&" as "and", punctuation as spaces."""
    folded = fold(text)
    folded = _AND.sub(" and ", folded)
    folded = _APOSTROPHE.sub("", folded)
    return _NON_WORD.sub(" ", folded).strip()


@lru_cache(maxsize=65_536)
def normalize_artist(name: str) -> str:
    """An artist's identity: the normalised name without a leading (or trailing ", The")."""
    folded = fold(name).strip()
    folded = _TRAILING_THE.sub("", folded)
    norm = normalize_text(folded)
    stripped = _LEADING_THE.sub("", norm)
    return stripped or norm


def sort_name_for(name: str) -> str:
    """The default sort name: "The Beatles" → "Beatles, The"."""
    match = re.match(r"^(the)\s+(.+)$", name.strip(), re.IGNORECASE)
    if match:
        return f"{match.group(2)}, {match.group(1)}"
    return name.strip()


def _is_variant(segment: str) -> bool:
    words = normalize_text(segment).split()
    if not words:
        return False
    if not any(w in _VARIANT_KEYS for w in words):
        return False
    return all(w in _VARIANT_WORDS or _YEARISH.match(w) for w in words)


@dataclass(frozen=True)
class ParsedTitle:
    """A title taken apart: its comparable core, its variant, the artists it features."""

    norm: str
    variant: str = ""
    featured: tuple[str, ...] = field(default=())


@lru_cache(maxsize=65_536)
def parse_title(title: str) -> ParsedTitle:
    """Split featuring credits and variant markers off a track or album title.

    >>> parse_title("Comfortably Numb - 2011 Remaster")
    ParsedTitle(norm='comfortably numb', variant='2011 remaster', featured=())
    >>> parse_title("Get Lucky (feat. Pharrell Williams)").norm
    'get lucky'
    >>> parse_title("Wish You Were Here (Live)").norm
    'wish you were here live'
    """
    text = title.translate(_TRANSLIT).strip()
    if not _MAY_HAVE_PARTS.search(text):  # most titles: nothing to split off
        return ParsedTitle(normalize_text(text) or normalize_text(title))
    featured: list[str] = []
    variants: list[str] = []

    def take_featured(match: re.Match[str]) -> str:
        featured.extend(_split_list(match.group("who")))
        return ""

    text = _FEAT_BRACKETED.sub(take_featured, text)
    # Peel suffix segments off the end: "(…)", "[…]", " - …", keeping versions.
    kept_suffixes: list[str] = []
    while True:
        match = _BRACKET_SEGMENT.search(text) or _DASH_SEGMENT.search(text)
        if match is None or match.start() == 0:
            break
        segment = match.group(1).strip()
        text = text[: match.start()].rstrip()
        if not segment:
            continue
        feat = re.match(rf"^{_FEAT_WORD}\s+(?P<who>.+)$", segment, re.IGNORECASE)
        if feat:
            featured.extend(_split_list(feat.group("who")))
        elif _is_variant(segment):
            variants.insert(0, normalize_text(segment))
        else:
            kept_suffixes.insert(0, segment)
    trailing = _FEAT_TRAILING.search(text)
    if trailing and trailing.start() > 0:
        featured.extend(_split_list(trailing.group("who")))
        text = text[: trailing.start()]
    core = normalize_text(" ".join([text, *kept_suffixes]))
    if not core:  # a title that is nothing but a marker ("(Live)") keeps it all
        core = normalize_text(title)
        variants = []
    return ParsedTitle(core, " ".join(variants), tuple(f for f in featured if f))


# Words that make a title another recording than the same title without them.
VERSION_WORDS = frozenset(
    {
        "live",
        "remix",
        "remixed",
        "rmx",
        "mix",
        "acoustic",
        "unplugged",
        "demo",
        "instrumental",
        "karaoke",
        "edit",
        "extended",
        "radio",
        "orchestral",
        "piano",
        "reprise",
        "dub",
        "session",
        "sessions",
        "rehearsal",
        "alternate",
        "acapella",
        "cappella",
        "cover",
        "bootleg",
        "vip",
        "club",
        "rework",
        "version",
    }
)


def version_tags(title_norm: str) -> frozenset[str]:
    """The version words of a normalised title ("comfortably numb live" → {"live"})."""
    return frozenset(w for w in title_norm.split() if w in VERSION_WORDS)


def _split_list(names: str) -> list[str]:
    return [n.strip() for n in _LIST_SPLIT.split(names.strip()) if n.strip()]


@dataclass(frozen=True)
class Credit:
    """One artist credit as MusicBrainz models it: the name as credited, then the join
    phrase printed after it (" feat. ", " & ", "" for the last)."""

    name: str
    join_phrase: str = ""


def parse_artist_credits(artist: str) -> list[Credit]:
    """A plain artist string as ordered credits.

    "A feat. B & C" → A (" feat. "), B (" & "), C. The part before "feat." is kept whole:
    "Simon & Garfunkel" and "Earth, Wind & Fire" are one artist each. Structured credits
    from the source are better than this guess; it is only for plain strings.
    """
    return list(_parse_artist_credits(artist))


# Imports name the same artists over and over: parse each string once.
@lru_cache(maxsize=65_536)
def _parse_artist_credits(artist: str) -> tuple[Credit, ...]:
    text = " ".join(artist.split())
    if not text:
        return ()
    parts = _FEAT_SPLIT.split(text, maxsplit=1)
    main = parts[0].strip().rstrip("(").strip()
    credits: list[Credit] = []
    if len(parts) == 1:
        return (Credit(main),)
    featured = _split_list(parts[1].rstrip(")] "))
    credits.append(Credit(main, " feat. " if featured else ""))
    for index, name in enumerate(featured):
        last = index == len(featured) - 1
        credits.append(
            Credit(name, "" if last else (" & " if index == len(featured) - 2 else ", "))
        )
    return tuple(credits)


@lru_cache(maxsize=65_536)
def primary_alternative(name: str) -> str | None:
    """A second guess at the primary artist when a plain string may join two: the first of
    "A & B", "A, B", "A x B", "A vs. B" (normalised), or None when there is nothing to split."""
    pieces = [p for p in _PRIMARY_SPLIT.split(name.strip()) if p.strip()]
    if len(pieces) < 2:
        return None
    alternative = normalize_artist(pieces[0])
    return alternative or None


def artist_names(credits: list[Credit]) -> str:
    """The credits as printed: names and join phrases, in order."""
    return "".join(c.name + c.join_phrase for c in credits).strip()


def search_words(*texts: str | None) -> list[str]:
    """The distinct normalised words of some texts (what the search vocabulary holds)."""
    seen: dict[str, None] = {}
    for text in texts:
        if text:
            for word in normalize_text(text).split():
                seen.setdefault(word, None)
    return list(seen)


ISRC_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
MBID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SPOTIFY_PATTERN = re.compile(r"^[0-9A-Za-z]{22}$")


def normalize_isrc(value: str) -> str:
    """An ISRC in its canonical form (upper case, no hyphens); ValueError if malformed."""
    candidate = value.strip().replace("-", "").upper()
    if not ISRC_PATTERN.match(candidate):
        raise ValueError(f"{value!r} is not an ISRC (CC-XXX-YY-NNNNN)")
    return candidate


def normalize_external_id(namespace: str, value: str) -> str:
    """An external id in its canonical form; ValueError if it is malformed."""
    value = value.strip()
    if not value:
        raise ValueError("an external id needs a value")
    if len(value) > 200:
        raise ValueError("an external id is at most 200 characters")
    if namespace == "isrc":
        return normalize_isrc(value)
    if namespace == "mbid":
        lowered = value.lower()
        if not MBID_PATTERN.match(lowered):
            raise ValueError(f"{value!r} is not a MusicBrainz id (a UUID)")
        return lowered
    if namespace == "spotify":
        if value.startswith("spotify:"):
            value = value.rsplit(":", 1)[-1]
        if not SPOTIFY_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a Spotify id (22 base-62 characters)")
        return value
    return value
