"""``python fake_launcher.py <gateway app> [launcher args…]``: the real launcher, fake services."""

from __future__ import annotations

import sys

from launcher_fakes import FAKE_USERS

from medley_local.launcher import main
from medley_local.services import ServiceSpec

if __name__ == "__main__":
    gateway = ServiceSpec(name="gateway", app=sys.argv[1], ready_path="/health/live")
    sys.exit(main(sys.argv[2:] or ["run"], services=[FAKE_USERS], gateway=gateway))
