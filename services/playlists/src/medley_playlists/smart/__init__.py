"""Smart playlists: rules in Navidrome's ``.nsp`` shape (:mod:`.rules`, pure), compiled to one
SQL query (:mod:`.query`, pure), saved and evaluated per owner (:mod:`.playlists`)."""
