"""The failed-login budget of an account: a token bucket per account id.

Each account may fail ``login_per_account`` logins in a burst, then one more every
``login_window_s / login_per_account`` seconds. It is kept on the account's credential row, so
the budget is one whatever the login named (username, email, any look-alike of either) and
however many replicas and gateways answer. A spent budget refuses the right password too
(429 with Retry-After), so guessing on past it learns nothing; a successful login costs
nothing. Unknown logins have no account to charge: the gateway's per-address limit covers them.
"""

from __future__ import annotations

import math
from datetime import datetime

from medley_core.errors import TooManyRequests
from medley_users.models import Credential
from medley_users.settings import UsersSettings


def _outstanding(credential: Credential, settings: UsersSettings, now: datetime) -> float:
    """Failures still counted at ``now``: the stored count, drained since it was stored."""
    if credential.failed_logins_at is None:
        return 0.0
    elapsed = max(0.0, (now - credential.failed_logins_at).total_seconds())
    rate = settings.login_per_account / settings.login_window_s
    return max(0.0, credential.failed_logins - elapsed * rate)


def require_budget(credential: Credential, settings: UsersSettings, now: datetime) -> None:
    """A 429 problem if the account has no failed login left to spend now.

    The caller holds the credential row locked (``FOR UPDATE``) until it has charged or not:
    concurrent guesses at one account then take turns and cannot overdraw it.
    """
    over = _outstanding(credential, settings, now) + 1 - settings.login_per_account
    if over > 0:
        rate = settings.login_per_account / settings.login_window_s
        raise TooManyRequests(
            "too many failed logins for this account; try again later",
            retry_after_s=math.ceil(over / rate),
            limit="login-per-account",
        )


def charge(credential: Credential, settings: UsersSettings, now: datetime) -> None:
    """Count one failed login (the caller commits it, though it answers with a refusal)."""
    credential.failed_logins = _outstanding(credential, settings, now) + 1
    credential.failed_logins_at = now
