"""An upload as entries: the file itself, or the files of a zip, checked before any is read.

Zips are taken exactly as the services deliver them, and refused as a whole (a
:class:`FileError`) when they could hurt: entry names that climb out of the archive or are
absolute (path traversal), a zip inside the zip, encrypted entries, more entries than
``max_entries``, more unpacked bytes than ``max_unpacked_bytes`` or an entry that unpacks to
more than ``max_ratio`` times its packed size (a zip bomb), or a zip that is corrupt. Nothing
is ever extracted to disk: entries are read into memory one at a time, and ``zipfile``
stops at each entry's declared size and checks its CRC.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from medley_ingestion.importers.records import FileError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# Packed formats that may not hide inside an upload's zip.
NESTED_SUFFIXES = (".zip", ".jar", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz")
# Small entries compress absurdly well legitimately (a file of spaces): judge the ratio only
# above this size.
RATIO_FLOOR_BYTES = 1024 * 1024
# Files exports carry beside the history (read-me PDFs, images): never opened.
IGNORED_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".gif", ".html", ".htm", ".mp4")


@dataclass(frozen=True)
class ArchiveLimits:
    max_unpacked_bytes: int
    max_ratio: float
    max_entries: int


@dataclass(frozen=True)
class Entry:
    """One file of the upload. ``size`` is its unpacked size."""

    name: str
    size: int


class Upload:
    """The entries of one upload (sorted by name) and a way to read each."""

    def __init__(self, entries: list[Entry], zip_file: zipfile.ZipFile | None, path: Path):
        self.entries = entries
        self._zip = zip_file
        self._path = path

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    def read(self, entry: Entry) -> bytes:
        if self._zip is None:
            return self._path.read_bytes()
        try:
            return self._zip.read(entry.name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise FileError(f"the zip is corrupt: {exc}", entry=entry.name) from None

    def head(self, entry: Entry, size: int) -> bytes:
        """The first ``size`` bytes of ``entry`` (to tell what it is)."""
        if self._zip is None:
            with self._path.open("rb") as handle:
                return handle.read(size)
        try:
            with self._zip.open(entry.name) as handle:
                return handle.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise FileError(f"the zip is corrupt: {exc}", entry=entry.name) from None


def is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in ZIP_MAGIC


def unsafe_name(name: str) -> str | None:
    """Why an entry name may not be taken, or None."""
    if "\x00" in name:
        return "a NUL character"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(normalised).parts:
        return "a '..' component (path traversal)"
    return None


def _ignored(name: str) -> bool:
    path = PurePosixPath(name)
    if name.endswith("/") or "__MACOSX" in path.parts:
        return True
    return path.name.startswith(".") or path.suffix.lower() in IGNORED_SUFFIXES


def _check_info(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    reason = unsafe_name(info.filename)
    if reason:
        raise FileError(f"entry name {info.filename!r} has {reason}", entry=info.filename)
    if info.flag_bits & 0x1:
        raise FileError("encrypted entries are not accepted", entry=info.filename)
    if info.filename.lower().endswith(NESTED_SUFFIXES):
        raise FileError("nested archives are not accepted", entry=info.filename)
    packed = max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR_BYTES and info.file_size / packed > limits.max_ratio:
        raise FileError(
            f"the entry unpacks to {info.file_size / packed:.0f} times its packed size "
            f"(at most {limits.max_ratio:.0f}): refused as a zip bomb",
            entry=info.filename,
        )


def _zip_entries(zip_file: zipfile.ZipFile, limits: ArchiveLimits) -> list[Entry]:
    infos = zip_file.infolist()
    if len(infos) > limits.max_entries:
        raise FileError(f"the zip holds {len(infos)} entries (at most {limits.max_entries})")
    total = 0
    entries = []
    for info in infos:
        _check_info(info, limits)
        total += info.file_size
        if total > limits.max_unpacked_bytes:
            raise FileError(
                f"the zip unpacks to more than {limits.max_unpacked_bytes} bytes: "
                "refused as a zip bomb"
            )
        if not _ignored(info.filename):
            entries.append(Entry(info.filename, info.file_size))
    return sorted(entries, key=lambda e: e.name)


@contextmanager
def open_upload(path: Path, name: str, limits: ArchiveLimits) -> Iterator[Upload]:
    """The upload at ``path`` (shown as ``name``) as entries; :class:`FileError` when it is a
    zip that may not be opened."""
    if not is_zip(path):
        yield Upload([Entry(name, path.stat().st_size)], None, path)
        return
    try:
        zip_file = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise FileError(f"the zip is corrupt: {exc}") from None
    with zip_file:
        upload = Upload(_zip_entries(zip_file, limits), zip_file, path)
        for entry in upload.entries:
            if upload.head(entry, 4) in ZIP_MAGIC:
                raise FileError("nested archives are not accepted", entry=entry.name)
        yield upload
