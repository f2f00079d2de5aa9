"""``python -m medley_local`` and the ``medley-local`` command: see :mod:`medley_local.launcher`."""

from __future__ import annotations

import sys


def main() -> int:
    """Run the launcher; a Ctrl-C before it has started anything just exits."""
    try:
        from medley_local.launcher import main as launch

        return launch()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
