"""``python -m medley_local`` and the ``medley-local`` command: see :mod:`medley_local.launcher`."""

from __future__ import annotations

import sys

from medley_local.launcher import main

if __name__ == "__main__":
    sys.exit(main())
