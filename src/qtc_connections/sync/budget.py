"""A client-side budget of writes, so that apply stays below the tenant's limit.

Qlik Cloud allows 100 tier-2 requests (every POST, PUT, PATCH and DELETE)
per user a minute. Apply writes one request per connection, so a manifest
of a few hundred connections would run into 429 responses and their
``Retry-After`` waits. ``WriteBudget`` is a token bucket that releases
writes at a steady rate below that limit instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["DEFAULT_WRITES_PER_MINUTE", "WriteBudget"]

# Below the tenant's 100 a minute, leaving room for other tools of the same
# user and for the clocks of client and tenant not agreeing on a minute.
DEFAULT_WRITES_PER_MINUTE = 90


class WriteBudget:
    """A token bucket: ``writes_per_minute`` at a steady rate, ``burst`` at once.

    The bucket starts full. With the default ``burst`` of 1, no window of
    ``T`` seconds contains more than ``1 + writes_per_minute * T / 60``
    writes, which keeps below a limit counted over a sliding window as
    well as over fixed minutes.

    ``acquire`` reserves a token under a lock and sleeps outside it, so
    threads are served in the order of their requests and none keeps the lock
    while it waits.
    """

    def __init__(
        self,
        writes_per_minute: float = DEFAULT_WRITES_PER_MINUTE,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if writes_per_minute <= 0:
            raise ValueError("writes_per_minute must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.writes_per_minute = writes_per_minute
        self.burst = burst
        self._rate = writes_per_minute / 60.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    def reserve(self) -> float:
        """Take one token and return the seconds to wait before using it.

        The token count may go below zero: each caller then waits for the
        tokens that the callers before it reserved to be refilled.
        """
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self._rate)
            self._updated = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self._rate

    def acquire(self) -> float:
        """Block until one write may be sent; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait
