"""Text as rules and sorts compare it: case-folded, in one Unicode normal form."""

from __future__ import annotations

import unicodedata


def fold(value: str) -> str:
    """``value`` case-folded in NFKC: "Björk", "BJÖRK" and a decomposed "Bjo\u0308rk" are
    one string. Computed here, not by the database, so it does not depend on its locale."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
