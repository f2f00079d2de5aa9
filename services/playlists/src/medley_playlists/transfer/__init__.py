"""Playlist files in and out: M3U/M3U8 (:mod:`.m3u`), XSPF (:mod:`.xspf`), Medley's JSON and
Spotify's ``Playlist1.json`` (:mod:`.jsonfiles`) read into entries (:mod:`.entries`), all
pure; entries matched to catalog tracks (:mod:`.matching`); the import and export
capabilities (:mod:`.importing`, :mod:`.exporting`)."""
