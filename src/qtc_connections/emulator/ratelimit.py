"""Per-user, per-tier request limits over a sliding window."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from qtc_connections.emulator.config import RateLimits


def tier_of(method: str) -> int:
    """Return the rate-limit tier of an HTTP method: 1 for reads, 2 otherwise."""
    return 1 if method in ("GET", "HEAD") else 2


class RateLimiter:
    """Counts requests per key and tier, and returns how long a request must wait.

    Rejected requests are not counted, so a client that honours
    ``Retry-After`` gets through once the window has moved on.
    """

    def __init__(
        self, limits: RateLimits, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, int], deque[float]] = {}

    def acquire(self, key: str, tier: int) -> int | None:
        """Count one request, or return the whole seconds to wait if over the limit."""
        now = self._clock()
        window = self._limits.window_seconds
        with self._lock:
            times = self._windows.setdefault((key, tier), deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= self._limits.capacity(tier):
                return max(1, math.ceil(times[0] + window - now))
            times.append(now)
            return None

    def reset(self) -> None:
        """Forget every counted request."""
        with self._lock:
            self._windows.clear()
