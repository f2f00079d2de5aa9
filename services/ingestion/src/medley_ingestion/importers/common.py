"""What the format readers share: the reading context and whole-file decoding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from medley_ingestion.importers.records import FileError

BOM = b"\xef\xbb\xbf"
UUID_SHAPE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_BYTE = re.compile(r"\(byte (\d+)\)")


@dataclass(frozen=True)
class ReadContext:
    """How to read one entry: the time "now" is (future listens are refused against it, and
    undated likes get it), the counting threshold, and how many records were stored already
    (a resumed job skips them)."""

    now: datetime
    min_listen_ms: int
    skip: int = 0


def strip_bom(data: bytes) -> bytes:
    return data[len(BOM) :] if data.startswith(BOM) else data


def check_utf8(data: bytes) -> None:
    """:class:`FileError` naming the first byte that is not UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileError("the file is not UTF-8", position=f"byte {exc.start}") from None


def decode_json(data: bytes) -> Any:
    """The whole JSON document, or :class:`FileError` with where it broke."""
    data = strip_bom(data)
    try:
        return msgspec.json.decode(data)
    except UnicodeDecodeError:
        check_utf8(data)  # names the first byte that is not UTF-8
        raise FileError("the file is not UTF-8") from None
    except msgspec.DecodeError as exc:
        message = str(exc)
        found = _BYTE.search(message)
        if "truncated" in message:
            raise FileError(
                "the JSON is truncated (the file ends in the middle of a value)",
                position=f"byte {len(data)}",
            ) from None
        position = f"byte {found.group(1)}" if found else None
        raise FileError(f"the JSON is malformed: {message}", position=position) from None


def decode_json_array(data: bytes) -> list[Any]:
    document = decode_json(data)
    if not isinstance(document, list):
        raise FileError("expected a JSON array of records")
    return document


def raw_json_array(data: bytes) -> list[msgspec.Raw]:
    """The elements of a JSON array, each left as its own bytes (a view into ``data``) until
    it is decoded: a large file is never one tree of objects at once."""
    data = strip_bom(data)
    try:
        return msgspec.json.decode(data, type=list[msgspec.Raw])
    except msgspec.ValidationError:
        raise FileError("expected a JSON array of records") from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        decode_json(data)  # raises naming where it broke
        raise


def decode_json_object(data: bytes) -> dict[str, Any]:
    document = decode_json(data)
    if not isinstance(document, dict):
        raise FileError("expected a JSON object")
    return document


def valid_mbid(value: Any) -> str | None:
    """A MusicBrainz id in canonical form (lower case), or None for anything else."""
    if isinstance(value, str) and UUID_SHAPE.match(value.strip()):
        return value.strip().lower()
    return None
