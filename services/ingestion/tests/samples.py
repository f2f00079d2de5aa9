"""Realistic export files, written the way each service writes them (quirks included).

Every function returns bytes (or a zip's bytes) exactly as a user would upload them.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

# A few real-looking tracks: (artist, album, title, spotify id, duration ms).
TRACKS = [
    ("Radiohead", "OK Computer", "Paranoid Android", "6LgJvl0Xdtc73RJ1mmpotq", 383_066),
    ("Björk", "Homogenic", "Jóga", "0oNLvt7KDNrbdWONDOTdfd", 305_000),
    ("Daft Punk", "Discovery", "One More Time", "0DiWol3AO6WpXZgp0goxAV", 320_357),
    ("Sigur Rós", "Ágætis byrjun", "Svefn-g-englar", "4Pb3Hc7T3bk8G0nHlpFvxU", 604_000),
    (
        "The Beatles",
        "Abbey Road",
        "Here Comes The Sun - Remastered 2009",
        "6dGnYIeXmHdcikdzNNDMm2",
        185_733,
    ),
]


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def extended_row(
    ended: datetime,
    ms_played: int,
    track: tuple[str, str, str, str, int] | None = TRACKS[0],
    *,
    reason_end: str = "trackdone",
    incognito: bool = False,
    episode: bool = False,
    audiobook: bool = False,
) -> dict[str, Any]:
    """One Streaming_History_Audio row with every field Spotify writes."""
    artist, album, title, spotify_id, _ = track if track else (None, None, None, None, 0)
    return {
        "ts": iso(ended),
        "platform": "android",
        "ms_played": ms_played,
        "conn_country": "SE",
        "ip_addr": "192.0.2.1",
        "master_metadata_track_name": None if episode or audiobook else title,
        "master_metadata_album_artist_name": None if episode or audiobook else artist,
        "master_metadata_album_album_name": None if episode or audiobook else album,
        "spotify_track_uri": None
        if episode or audiobook or not track
        else f"spotify:track:{spotify_id}",
        "episode_name": "Episode 12: On Listening" if episode else None,
        "episode_show_name": "The Show" if episode else None,
        "spotify_episode_uri": "spotify:episode:4rOoJ6Egrf8K2IrywzwOMk" if episode else None,
        "audiobook_title": "Moby-Dick" if audiobook else None,
        "audiobook_uri": "spotify:show:1234567890123456789012" if audiobook else None,
        "audiobook_chapter_uri": "spotify:episode:1234567890123456789012" if audiobook else None,
        "audiobook_chapter_title": "Chapter 1" if audiobook else None,
        "reason_start": "trackdone",
        "reason_end": reason_end,
        "shuffle": False,
        "skipped": reason_end != "trackdone",
        "offline": False,
        "offline_timestamp": None,
        "incognito_mode": incognito,
    }


def extended_history(rows: list[dict[str, Any]]) -> bytes:
    # Spotify pretty-prints with two-space indents and keeps non-ASCII as is.
    return json.dumps(rows, indent=2, ensure_ascii=False).encode()


def account_history(rows: list[tuple[datetime, str, str, int]]) -> bytes:
    """StreamingHistory_music_0.json: endTime "YYYY-MM-DD HH:MM" (UTC)."""
    return json.dumps(
        [
            {
                "endTime": ended.strftime("%Y-%m-%d %H:%M"),
                "artistName": artist,
                "trackName": title,
                "msPlayed": ms,
            }
            for ended, artist, title, ms in rows
        ],
        indent=2,
        ensure_ascii=False,
    ).encode()


def your_library(tracks: list[tuple[str, str, str, str, int]]) -> bytes:
    return json.dumps(
        {
            "tracks": [
                {"artist": a, "album": al, "track": t, "uri": f"spotify:track:{sid}"}
                for a, al, t, sid, _ in tracks
            ],
            "albums": [],
            "shows": [],
            "episodes": [],
            "bannedTracks": [],
            "artists": [],
            "bannedArtists": [],
            "other": [],
        },
        indent=2,
        ensure_ascii=False,
    ).encode()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def spotify_extended_zip(parts: list[bytes]) -> bytes:
    """my_spotify_data.zip as Spotify delivers it: the history in parts, a read-me PDF."""
    files = {
        f"Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_{i}.json": part
        for i, part in enumerate(parts)
    }
    files["Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf"] = (
        b"%PDF-1.4 not really"
    )
    files["Spotify Extended Streaming History/Streaming_History_Video_2023-2024.json"] = b"[]"
    return zipped(files)


def lastfm_date(when: datetime) -> str:
    return when.strftime("%d %b %Y %H:%M")


def lastfm_headerless(rows: list[tuple[str, str, str, datetime]]) -> bytes:
    """lastfm-to-csv: artist,album,track,date — no header; quoted where needed."""
    out = io.StringIO()
    import csv

    writer = csv.writer(out, lineterminator="\n")
    for artist, album, title, when in rows:
        writer.writerow([artist, album, title, lastfm_date(when)])
    return out.getvalue().encode()


def lastfm_uts(rows: list[tuple[str, str, str, datetime]], *, mbid: str = "") -> bytes:
    """A header with uts and utc_time ("23 Feb 2016, 17:59": a comma, so quoted)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["uts", "utc_time", "artist", "artist_mbid", "album", "album_mbid", "track", "track_mbid"]
    )
    for artist, album, title, when in rows:
        writer.writerow(
            [
                int(when.timestamp()),
                when.strftime("%d %b %Y, %H:%M"),
                artist,
                "",
                album,
                "",
                title,
                mbid,
            ]
        )
    return out.getvalue().encode()


def maloja_csv(rows: list[tuple[str, str, str, datetime]]) -> bytes:
    """Libre.fm/Maloja style: # comments, then Artist,Track,Album,Time."""
    import csv

    out = io.StringIO()
    out.write("# Scrobbles exported from libre.fm\n# user: someone\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Artist", "Track", "Album", "Time"])
    for artist, album, title, when in rows:
        writer.writerow([artist, title, album, int(when.timestamp())])
    return out.getvalue().encode()


def lb_listen(
    when: datetime, artist: str, title: str, album: str | None = None, **info: Any
) -> dict[str, Any]:
    return {
        "listened_at": int(when.timestamp()),
        "inserted_at": int(when.timestamp()) + 5,
        "recording_msid": info.pop("recording_msid", "b7ffd2af-418f-4be2-bdd1-22f8b48613da"),
        "user_name": "someone",
        "track_metadata": {
            "artist_name": artist,
            "track_name": title,
            "release_name": album,
            "additional_info": {"submission_client": "Pano Scrobbler", **info},
            "mbid_mapping": None,
        },
    }


def listenbrainz_zip(
    listens: list[dict[str, Any]], feedback: list[dict[str, Any]] | None = None
) -> bytes:
    """A current ListenBrainz export: listens/<year>/<month>.jsonl, feedback.jsonl, user.json."""
    files: dict[str, bytes] = {
        "user.json": json.dumps({"user_id": 1, "username": "someone"}).encode()
    }
    by_month: dict[str, list[str]] = {}
    for listen in listens:
        when = datetime.fromtimestamp(listen["listened_at"], tz=UTC)
        by_month.setdefault(f"listens/{when.year}/{when.month}.jsonl", []).append(
            json.dumps(listen)
        )
    for name, lines in by_month.items():
        files[name] = ("\n".join(lines) + "\n").encode()
    if feedback is not None:
        files["feedback.jsonl"] = ("\n".join(json.dumps(f) for f in feedback) + "\n").encode()
    return zipped(files)


BASE = datetime(2024, 3, 10, 18, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def json_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()
