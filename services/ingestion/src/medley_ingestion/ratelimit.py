"""ListenBrainz's rate limit: a fixed window of N requests per key (user or address).

ListenBrainz tells clients how much is left with ``X-RateLimit-Limit``, ``-Remaining``,
``-Reset`` (when the window ends, Unix seconds) and ``-Reset-In`` (seconds until then), and
answers 429 past it; clients sleep for ``Reset-In``. Kept in memory, per process: each
replica counts its own requests, so the limit per user is at most N per replica.
"""

from __future__ import annotations

from dataclasses import dataclass

# Windows of keys not seen for this many windows are forgotten.
FORGET_AFTER_WINDOWS = 2


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    reset_in: float


class FixedWindowLimiter:
    def __init__(self, limit: int, window_s: float, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, now: float) -> Decision:
        """Spend one request of ``key``'s current window."""
        start, used = self._windows.get(key, (now, 0))
        if now >= start + self.window_s:
            start, used = now, 0
        used += 1
        if len(self._windows) >= self.max_keys and key not in self._windows:
            self._forget(now)
        self._windows[key] = (start, used)
        reset_at = start + self.window_s
        return Decision(
            allowed=used <= self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - used),
            reset_at=reset_at,
            reset_in=reset_at - now,
        )

    def _forget(self, now: float) -> None:
        horizon = now - FORGET_AFTER_WINDOWS * self.window_s
        self._windows = {k: v for k, v in self._windows.items() if v[0] >= horizon}
