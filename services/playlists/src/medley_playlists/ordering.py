"""Order keys for playlist items: short strings compared byte by byte (``COLLATE "C"``).

A key is a path of integers, ``(4,)``, ``(4, -3)``, ``(4, -3, 17)``, written as the
concatenation of one self-delimiting token per integer. A token is a head character naming
the sign and the number of base-62 digits that follow, then the digits:

* non-negative integers: heads ``a`` (1 digit) … ``z`` (26 digits);
* negative integers: heads ``Z`` (1 digit) … ``A`` (26 digits), more digits further down.

ASCII puts ``0-9`` < ``A-Z`` < ``a-z``, so the byte order of the strings is the order of the
paths, compared integer by integer (a path before its own extensions). Between any two
paths there is always another, so no other item is ever renumbered:

* at the end, after ``(x, …)``: ``(x + 1)``; at the start, before ``(y, …)``: ``(y - 1)``;
* between ``(…, x, …)`` and ``(…, y, …)`` with room between x and y: numbers spread evenly
  between them;
* without room (``y = x + 1``): a child of the lower key's branch, after what it holds;
* below ``(…, y, …)`` when the lower key is its prefix ``(…)``: ``(…, y - 1)``.

Each rule moves by one step of an integer whose token grows by a character only when its
magnitude passes a power of 62: inserting thousands of items at one spot (always before
the last one inserted, or always after it) grows the key by a few characters, not by one
per insertion as halving the gap each time would. What an adversarial pattern can still
grow is capped: past :data:`REBALANCE_AT` bytes the playlist's keys are rewritten evenly
(:func:`spread`), and the database refuses anything past :data:`MAX_KEY_BYTES`.

Pure functions: no database, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
MAX_DIGITS = 26
_VALUE = {c: i for i, c in enumerate(DIGITS)}

#: The longest key the database accepts (a check constraint).
MAX_KEY_BYTES = 64
#: A generated key longer than this rewrites the playlist's keys first.
REBALANCE_AT = 40
#: Rebalanced keys are this far apart, leaving room for moves between any two neighbours.
SPREAD_STEP = 16

Path = tuple[int, ...]


def _span(digits: int) -> int:
    return int(BASE**digits)


def _base(digits: int) -> int:
    """The smallest non-negative integer written with ``digits`` digits."""
    return sum(_span(k) for k in range(1, digits))


# Per width 1 … MAX_DIGITS: (the smallest non-negative integer of that width, 62^width), so a
# token is found by a look-up, not by summing powers again for every integer.
_CLASSES = [(_base(width), _span(width)) for width in range(1, MAX_DIGITS + 1)]


def _digits_of(value: int, width: int) -> str:
    out = [""] * width
    for index in range(width - 1, -1, -1):
        value, digit = divmod(value, BASE)
        out[index] = DIGITS[digit]
    return "".join(out)


def encode_int(n: int) -> str:
    """One integer's token."""
    if n >= 0:
        for width, (base, span) in enumerate(_CLASSES, 1):
            if n < base + span:
                return chr(ord("a") + width - 1) + _digits_of(n - base, width)
        raise OverflowError(n)
    # Class k holds -(base_k + 62^k) … -(base_k + 1), more digits for larger magnitudes.
    for width, (base, span) in enumerate(_CLASSES, 1):
        if -n <= base + span:
            return chr(ord("Z") - width + 1) + _digits_of(n + base + span, width)
    raise OverflowError(n)


def encode(path: Sequence[int]) -> str:
    """The key of a path."""
    if not path:
        raise ValueError("a key holds at least one integer")
    return "".join(encode_int(n) for n in path)


def decode(key: str) -> Path:
    """The path a key holds; ValueError for anything :func:`encode` would not write."""
    path: list[int] = []
    index = 0
    while index < len(key):
        head = key[index]
        if "a" <= head <= "z":
            width = ord(head) - ord("a") + 1
            negative = False
        elif "A" <= head <= "Z":
            width = ord("Z") - ord(head) + 1
            negative = True
        else:
            raise ValueError(f"not an order key: {key!r}")
        body = key[index + 1 : index + 1 + width]
        if len(body) != width:
            raise ValueError(f"not an order key: {key!r}")
        value = 0
        for char in body:
            if char not in _VALUE:
                raise ValueError(f"not an order key: {key!r}")
            value = value * BASE + _VALUE[char]
        base = _base(width)
        path.append(value - base - _span(width) if negative else value + base)
        index += 1 + width
    if not path:
        raise ValueError("an empty order key")
    return tuple(path)


def _paths_between(low: Path | None, high: Path | None, count: int) -> tuple[Path, list[int]]:
    """``count`` ascending paths strictly between ``low`` and ``high`` (None: no bound), as
    the prefix they share and the last integer of each (every rule varies the last one)."""
    if low is None and high is None:
        return (), list(range(count))
    if high is None:
        assert low is not None
        return (), [low[0] + i + 1 for i in range(count)]
    if low is None:
        return (), [high[0] - count + i for i in range(count)]
    if not low < high:
        raise ValueError(f"keys out of order: {low} is not before {high}")
    shared = 0
    while shared < len(low) and low[shared] == high[shared]:
        shared += 1
    prefix = high[:shared]
    if shared == len(low):
        # low is a prefix of high: go below high's next integer.
        below = high[shared]
        return prefix, [below - count + i for i in range(count)]
    x, y = low[shared], high[shared]
    if y - x - 1 >= count:
        gap = y - x
        return prefix, [x + gap * (i + 1) // (count + 1) for i in range(count)]
    # No room at this level: extend low's branch, after whatever low holds below it.
    rest = low[shared + 1 :]
    below_prefix, lasts = _paths_between(rest or None, None, count)
    return (*prefix, x, *below_prefix), lasts


def keys_between(low: str | None, high: str | None, count: int = 1) -> list[str]:
    """``count`` keys, ascending, strictly between ``low`` and ``high`` (None: that end of
    the list). Raises ValueError when ``low`` is not before ``high``."""
    if count <= 0:
        return []
    prefix, lasts = _paths_between(
        decode(low) if low is not None else None,
        decode(high) if high is not None else None,
        count,
    )
    # The shared prefix is written once; only each key's last integer is encoded.
    head = "".join(encode_int(n) for n in prefix)
    return [head + encode_int(n) for n in lasts]


def key_between(low: str | None, high: str | None) -> str:
    """One key strictly between ``low`` and ``high``."""
    return keys_between(low, high, 1)[0]


def spread(count: int) -> list[str]:
    """``count`` keys, evenly apart: what a rebalanced playlist's items get, in order."""
    return [encode((i * SPREAD_STEP,)) for i in range(count)]


def needs_rebalance(keys: Sequence[str]) -> bool:
    """Whether any of the keys just generated passed :data:`REBALANCE_AT` bytes."""
    return any(len(key) > REBALANCE_AT for key in keys)
