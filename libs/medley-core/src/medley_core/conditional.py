"""Conditional requests (RFC 9110 §13): entity tags, ``If-Match`` and ``If-None-Match``.

Framework-free: a controller passes the header values in, the domain compares them with the
version it holds under its lock. A resource's version is an opaque string; its entity tag
is that string quoted (``"3f2a…"``), always strong.

Every other read gets its tag from its bytes (:func:`body_tag`): the services' response class
(:mod:`medley_core.responses`) tags each ``GET`` answer that has none and answers ``304 Not
Modified`` when ``If-None-Match`` names it; the gateway forwards ``If-None-Match`` and relays
``ETag`` and the 304.
"""

from __future__ import annotations

import hashlib
import re

# One entity tag in a list: optionally weak (W/), then a quoted string without quotes.
_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


def entity_tag(version: str) -> str:
    """The strong entity tag of ``version``: ``"<version>"``."""
    return f'"{version}"'


def body_tag(body: bytes) -> str:
    """The strong entity tag of a representation: a digest of its bytes (two reads answering
    the same bytes have the same tag; any change of them, another)."""
    return entity_tag(hashlib.blake2b(body, digest_size=12).hexdigest())


def parse_tags(header: str | None) -> tuple[list[tuple[bool, str]], bool] | None:
    """The ``(weak, opaque)`` tags a header lists and whether it is ``*``; None when the
    header is absent or blank. A malformed list is read as far as it is well formed; bare
    versions without quotes (``If-Match: 3f2a…``, as some clients send) are taken as tags."""
    if header is None or not header.strip():
        return None
    if header.strip() == "*":
        return [], True
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(header):
        found = _TAG.match(header, position)
        if found is None:
            break
        tags.append((found.group(1) is not None, found.group(2)))
        position = found.end()
    if not tags and '"' not in header:
        tags = [(False, bare.strip()) for bare in header.split(",") if bare.strip()]
    return tags, False


def if_match_holds(header: str | None, current: str) -> bool:
    """Whether a change guarded by ``If-Match: <header>`` may apply to ``current``: no
    header, ``*``, or a strong tag equal to it (weak tags never match, §13.1.1)."""
    parsed = parse_tags(header)
    if parsed is None:
        return True
    tags, anything = parsed
    return anything or any(not weak and opaque == current for weak, opaque in tags)


def if_none_match_hits(header: str | None, current: str) -> bool:
    """Whether ``If-None-Match: <header>`` names ``current`` (weak comparison, §13.1.2):
    a read may then answer 304 Not Modified."""
    parsed = parse_tags(header)
    if parsed is None:
        return False
    tags, anything = parsed
    return anything or any(opaque == current for _, opaque in tags)
