"""The format readers on realistic samples: detection by content, the counting rule at its
edges, start times in UTC, per-record rejections and whole-file failures. Pure: no database."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from medley_ingestion import importers
from medley_ingestion.importers import archive, detect
from medley_ingestion.importers.common import ReadContext
from medley_ingestion.importers.records import FileError, Liked, Listen, Rejected, Skipped

from . import samples
from .samples import BASE, TRACKS, extended_row, minutes

NOW = datetime(2024, 6, 1, tzinfo=UTC)
CTX = ReadContext(NOW, 30_000)


def read(data: bytes) -> list[object]:
    kind = detect(data[: importers.HEAD_BYTES])
    assert kind is not None
    kind.check(data)
    return list(kind.read(data, CTX))


# --- Spotify ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms_played", "reason_end", "counted"),
    [
        (30_000, "fwdbtn", True),  # exactly the threshold
        (29_999, "fwdbtn", False),  # one millisecond short
        (29_999, "trackdone", True),  # short, but played to its end
        (0, "trackdone", True),
        (0, "endplay", False),
        (300_000, "logout", True),
    ],
)
def test_the_counting_rule_at_its_edges(ms_played: int, reason_end: str, counted: bool) -> None:
    rows = read(samples.extended_history([extended_row(BASE, ms_played, reason_end=reason_end)]))
    assert rows == [rows[0]]
    if counted:
        assert isinstance(rows[0], Listen)
    else:
        assert rows[0] == Skipped("too_short")


def test_a_spotify_listen_starts_ms_played_before_ts_in_utc() -> None:
    row = extended_row(BASE, 200_500)
    row["ts"] = "2024-03-10T18:00:00Z"
    [listen] = read(samples.extended_history([row]))
    assert isinstance(listen, Listen)
    assert listen.listened_at == datetime(2024, 3, 10, 17, 56, 39, 500_000, tzinfo=UTC)
    assert listen.listened_at.utcoffset() == timedelta(0)
    assert listen.track.spotify_id == TRACKS[0][3]
    assert listen.track.key == f"spotify:track:{TRACKS[0][3]}"
    # Played to the end: its length is a hint for the catalog.
    assert listen.track.duration_ms == 200_500


def test_incognito_episodes_audiobooks_and_trackless_rows_are_skipped_and_counted() -> None:
    rows = read(
        samples.extended_history(
            [
                extended_row(BASE, 200_000, incognito=True),
                extended_row(BASE, 200_000, None, episode=True),
                extended_row(BASE, 200_000, None, audiobook=True),
                extended_row(BASE, 200_000, None),
            ]
        )
    )
    assert rows == [
        Skipped("incognito"),
        Skipped("not_music"),
        Skipped("not_music"),
        Skipped("not_music"),
    ]


def test_older_endsong_files_are_the_same_format() -> None:
    row = extended_row(BASE, 100_000)
    row["username"] = "someone"
    row["ip_addr_decrypted"] = row.pop("ip_addr")
    row["user_agent_decrypted"] = "unknown"
    data = samples.extended_history([row])
    assert detect(data) is importers.SPOTIFY_EXTENDED
    assert isinstance(read(data)[0], Listen)


def test_bad_spotify_rows_are_rejected_with_their_index() -> None:
    rows = read(
        samples.extended_history(
            [
                extended_row(BASE, 100_000),
                {**extended_row(BASE, 100_000), "ts": "yesterday"},
                {**extended_row(BASE, 100_000), "ms_played": "a lot"},
                {**extended_row(datetime(2001, 5, 1, tzinfo=UTC), 100_000)},
                {**extended_row(NOW + timedelta(days=2), 100_000)},
                "not even an object",
            ]
        )
    )
    assert isinstance(rows[0], Listen)
    assert rows[1:] == [
        Rejected("index 1", "ts is missing or not an ISO 8601 time"),
        Rejected("index 2", "ms_played is missing or not a non-negative integer"),
        Rejected(
            "index 3",
            f"listened_at {(datetime(2001, 5, 1, tzinfo=UTC) - timedelta(seconds=100)).isoformat()}"
            " is before 2002-10-01",
        ),
        Rejected(
            "index 4",
            f"listened_at {(NOW + timedelta(days=2, seconds=-100)).isoformat()} is in the future",
        ),
        Rejected("index 5", "not a JSON object"),
    ]


def test_account_data_history_has_minute_precision_and_the_30_second_rule() -> None:
    data = samples.account_history(
        [
            (datetime(2023, 1, 5, 21, 14, tzinfo=UTC), "Björk", "Jóga", 305_000),
            (datetime(2023, 1, 5, 21, 20, tzinfo=UTC), "Björk", "Hunter", 29_000),
        ]
    )
    assert detect(data) is importers.SPOTIFY_HISTORY
    listen, short = read(data)
    assert isinstance(listen, Listen)
    assert listen.listened_at == datetime(2023, 1, 5, 21, 8, 55, tzinfo=UTC)
    assert (listen.track.artist, listen.track.title) == ("Björk", "Jóga")
    assert short == Skipped("too_short")


def test_your_library_tracks_become_likes() -> None:
    data = samples.your_library(TRACKS[:2])
    assert detect(data) is importers.SPOTIFY_LIBRARY
    likes = read(data)
    assert [type(x) for x in likes] == [Liked, Liked]
    first = likes[0]
    assert isinstance(first, Liked)
    assert first.track is not None
    assert first.track.spotify_id == TRACKS[0][3]
    assert first.liked_at == NOW


# --- Last.fm ---------------------------------------------------------------------------------

LASTFM_ROWS = [
    ("Radiohead", "OK Computer", "Paranoid Android", datetime(2016, 2, 23, 17, 59, tzinfo=UTC)),
    # Commas and quotes inside fields: the CSV quotes them.
    ("Crosby, Stills, Nash & Young", 'Déjà Vu "Deluxe"', "Carry On", BASE),
    ("Björk", "", "Jóga", BASE + minutes(5)),  # no album
]


@pytest.mark.parametrize(
    "data",
    [
        samples.lastfm_headerless(LASTFM_ROWS),
        samples.lastfm_uts(LASTFM_ROWS),
        samples.maloja_csv(LASTFM_ROWS),
    ],
    ids=["headerless", "uts-header", "maloja-comments"],
)
def test_the_three_lastfm_shapes_read_the_same_listens(data: bytes) -> None:
    assert detect(data) is importers.LASTFM_CSV
    listens = read(data)
    assert all(isinstance(x, Listen) for x in listens)
    found = [(x.track.artist, x.track.album, x.track.title, x.listened_at) for x in listens]  # type: ignore[union-attr]
    assert found == [(a, al or None, t, w) for a, al, t, w in LASTFM_ROWS]


def test_a_csv_is_known_by_its_content_whatever_its_name_or_bom(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + samples.lastfm_uts(LASTFM_ROWS[:1])
    renamed = tmp_path / "export (1).txt"
    renamed.write_bytes(data)
    limits = archive.ArchiveLimits(1 << 30, 100.0, 100)
    with archive.open_upload(renamed, renamed.name, limits) as upload:
        [entry] = upload.entries
        assert detect(upload.head(entry, importers.HEAD_BYTES)) is importers.LASTFM_CSV


def test_a_lastfm_track_mbid_is_kept() -> None:
    mbid = "b1a9c0e9-d987-4042-ae91-78d6a3267d69"
    [listen] = read(samples.lastfm_uts(LASTFM_ROWS[:1], mbid=mbid))
    assert isinstance(listen, Listen)
    assert listen.track.recording_mbid == mbid


def test_a_csv_of_no_known_shape_is_not_detected_and_fails_its_check() -> None:
    data = b"name,age\nada,36\n"
    assert detect(data) is None
    with pytest.raises(FileError, match="no known shape"):
        importers.LASTFM_CSV.check(data)


def test_bad_lastfm_rows_are_rejected_with_their_line() -> None:
    data = samples.lastfm_headerless(LASTFM_ROWS[:1]) + b"Radiohead,OK Computer\nA,B,C,not a date\n"
    listen, short_row, bad_date = read(data)
    assert isinstance(listen, Listen)
    assert short_row == Rejected("line 2", "expected at least 4 columns, found 2")
    assert bad_date == Rejected("line 3", "unreadable time 'not a date'")


# --- ListenBrainz ----------------------------------------------------------------------------


def test_listenbrainz_jsonl_listens_and_feedback() -> None:
    msid = "0cf3a1a5-d6c2-4b43-b64d-8d9b7b9d0c1e"
    listen_line = samples.lb_listen(
        BASE,
        "Daft Punk",
        "One More Time",
        "Discovery",
        recording_msid=msid,
        duration_ms=320_357,
        spotify_id="https://open.spotify.com/track/0DiWol3AO6WpXZgp0goxAV",
    )
    data = (json.dumps(listen_line) + "\n").encode()
    assert detect(data) is importers.LISTENBRAINZ_LISTENS
    [listen] = read(data)
    assert isinstance(listen, Listen)
    assert listen.listened_at == BASE
    assert listen.client == "Pano Scrobbler"
    assert listen.track.recording_msid == msid
    assert listen.track.spotify_id == "0DiWol3AO6WpXZgp0goxAV"
    assert listen.track.duration_ms == 320_357

    feedback = (
        json.dumps(
            {"recording_msid": msid, "recording_mbid": None, "score": 1, "created": 1700000000}
        )
        + "\n"
        + json.dumps({"recording_msid": msid, "score": -1, "created": 1700000100})
        + "\n"
    ).encode()
    assert detect(feedback) is importers.LISTENBRAINZ_FEEDBACK
    love, hate = read(feedback)
    assert isinstance(love, Liked)
    assert isinstance(hate, Liked)
    assert (love.score, love.recording_msid, love.track) == (1, msid, None)
    assert hate.score == -1


def test_an_older_listenbrainz_export_is_one_json_array() -> None:
    data = json.dumps([samples.lb_listen(BASE, "Björk", "Jóga")]).encode()
    assert detect(data) is importers.LISTENBRAINZ_LISTENS_ARRAY
    assert isinstance(read(data)[0], Listen)


# --- whole files that are broken -------------------------------------------------------------


def test_truncated_json_fails_the_file_with_its_position() -> None:
    data = samples.extended_history([extended_row(BASE, 100_000)] * 3)[:-40]
    kind = detect(data)
    assert kind is importers.SPOTIFY_EXTENDED
    with pytest.raises(FileError) as caught:
        kind.check(data)
    assert "truncated" in caught.value.message
    assert caught.value.position == f"byte {len(data)}"


def test_a_file_that_is_not_utf8_fails_naming_the_byte() -> None:
    good = samples.lastfm_headerless(LASTFM_ROWS[:1])
    data = good + "Motörhead,Ace of Spades,Ace of Spades,23 Feb 2016 17:59\n".encode("latin-1")
    with pytest.raises(FileError) as caught:
        importers.LASTFM_CSV.check(data)
    assert caught.value.message == "the file is not UTF-8"
    assert caught.value.position == f"byte {len(good) + 3}"  # the ö of Motörhead


def zip_of(entries: dict[str, bytes], *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", compression=method) as handle:
        for name, data in entries.items():
            handle.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"../../etc/passwd.json": b"[]"}, "path traversal"),
        ({"/abs/history.json": b"[]"}, "absolute path"),
        ({"C:\\\\Users\\history.json": b"[]"}, "absolute path"),
        ({"inner.zip": zip_of({"a.json": b"[]"})}, "nested archives"),
        ({"disguised.json": zip_of({"a.json": b"[]"})}, "nested archives"),
        ({"bomb.json": b"[" + b" " * (64 * 1024 * 1024) + b"]"}, "zip bomb"),
    ],
    ids=["traversal", "absolute", "drive-letter", "nested-zip", "nested-by-content", "ratio-bomb"],
)
def test_hostile_zips_are_refused_as_a_whole(
    tmp_path: Path, entries: dict[str, bytes], message: str
) -> None:
    path = tmp_path / "upload.zip"
    path.write_bytes(zip_of(entries))
    limits = archive.ArchiveLimits(1 << 30, 200.0, 100)
    with pytest.raises(FileError, match=message), archive.open_upload(path, "upload.zip", limits):
        pass


def test_a_zip_that_unpacks_past_the_total_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "upload.zip"
    path.write_bytes(zip_of({f"part{i}.json": b"[" + b"0," * 50_000 + b"0]" for i in range(4)}))
    limits = archive.ArchiveLimits(300_000, 1e9, 100)
    with (
        pytest.raises(FileError, match="more than 300000 bytes"),
        archive.open_upload(path, "upload.zip", limits),
    ):
        pass


def test_a_corrupt_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "upload.zip"
    data = zip_of(
        {"Streaming_History_Audio_2024.json": samples.extended_history([extended_row(BASE, 1)])}
    )
    path.write_bytes(data[: len(data) // 2])
    limits = archive.ArchiveLimits(1 << 30, 200.0, 100)
    with pytest.raises(FileError, match="corrupt"), archive.open_upload(path, "upload.zip", limits):
        pass


def test_an_older_listenbrainz_export_is_read_one_listen_at_a_time() -> None:
    """``listens.json`` is one array: its listens are decoded as they are read (the reader
    holds each element's bytes, not a tree of the whole file), from a resumed position too."""
    listens = [samples.lb_listen(BASE + minutes(5 * i), "Björk", f"Song {i}") for i in range(6)]
    data = samples.json_bytes(listens)
    reader = importers.listenbrainz.read_listens_json(data, ReadContext(NOW, 30_000, skip=2))
    first = next(reader)
    assert isinstance(first, Listen)
    assert first.position == "index 2"
    assert first.listened_at == BASE + minutes(10)
    rest = list(reader)
    assert [o.position for o in rest if isinstance(o, Listen)] == ["index 3", "index 4", "index 5"]


def test_typed_spotify_rows_are_read_exactly_as_the_general_rule_reads_them() -> None:
    """A well-typed file takes the fast path (decoded into a struct, each track described
    once); every outcome is the one the row-by-row rule gives, at every edge."""
    rows = [
        extended_row(BASE, 100_000),
        extended_row(BASE + minutes(5), 100_000),  # the same track again: described once
        extended_row(BASE + minutes(6), 29_999, reason_end="fwdbtn"),
        extended_row(BASE + minutes(7), 12_000, TRACKS[2], reason_end="trackdone"),
        extended_row(BASE + minutes(8), 0, TRACKS[2], reason_end="trackdone"),
        extended_row(BASE + minutes(9), 200_000, TRACKS[3], incognito=True),
        extended_row(BASE + minutes(10), 900_000, None, episode=True),
        extended_row(BASE + minutes(11), 900_000, None, audiobook=True),
        {**extended_row(BASE, 100_000), "ts": "yesterday"},
        {**extended_row(BASE, 100_000), "ts": None},
        {**extended_row(BASE, 100_000, TRACKS[1]), "master_metadata_track_name": "   "},
        {**extended_row(BASE, 100_000, TRACKS[1]), "master_metadata_album_artist_name": None},
        {**extended_row(BASE, 100_000), "spotify_track_uri": "spotify:local:x"},
        extended_row(datetime(2001, 5, 1, tzinfo=UTC), 100_000),
        extended_row(NOW + timedelta(days=2), 100_000),
    ]
    data = samples.extended_history(rows)
    ctx = ReadContext(NOW, 30_000)
    fast = list(importers.spotify.read_extended(data, ctx))
    general = [importers.spotify.extended_row(row, f"index {i}", ctx) for i, row in enumerate(rows)]
    assert fast == general
    listens = [o for o in fast if isinstance(o, Listen)]
    assert listens[0].track is listens[1].track
    resumed = list(importers.spotify.read_extended(data, ReadContext(NOW, 30_000, skip=3)))
    assert resumed == general[3:]
