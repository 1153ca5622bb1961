"""When and how long to wait before repeating a failed request.

The rules:

* 429 Too Many Requests is repeated for every method, because the tenant
  rejected the request before acting on it. ``Retry-After`` sets the wait;
  a wait longer than ``max_retry_after`` is not attempted and the
  ``RateLimitError`` goes to the caller, who can plan around it.
* 502, 503 and 504, and transport failures (connect errors, timeouts,
  dropped connections), are repeated only for idempotent methods (GET,
  HEAD, OPTIONS, PUT, DELETE). A POST or PATCH whose outcome is unknown is
  never repeated here: a create is resolved by looking the connection up
  by name, one level up.
* Waits grow exponentially from ``backoff_base`` up to ``backoff_max``.
* At most ``max_attempts`` requests are made in total.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_SERVER_STATUSES = frozenset({502, 503, 504})
RATE_LIMITED = 429


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and timing of retries; see the module docstring for the rules.

    ``sleep`` and ``jitter`` are injectable so tests run without waiting.
    """

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    jitter: float = 0.1
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff times must not be negative")

    def should_retry_status(self, method: str, status: int) -> bool:
        """Return whether a response with ``status`` may be repeated."""
        if status == RATE_LIMITED:
            return True
        return (
            status in RETRYABLE_SERVER_STATUSES and method.upper() in IDEMPOTENT_METHODS
        )

    def should_retry_transport_error(self, method: str) -> bool:
        """Return whether a request that failed in transport may be repeated."""
        return method.upper() in IDEMPOTENT_METHODS

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Return the seconds to wait before attempt number ``attempt + 1``.

        ``attempt`` counts the requests already made, starting at 1. A
        server's ``Retry-After`` wins over the exponential schedule.
        """
        if retry_after is not None:
            return retry_after
        exponential = self.backoff_base * 2.0 ** (attempt - 1)
        capped = min(self.backoff_max, exponential)
        return capped + random.uniform(0, capped * self.jitter)

    def retry_after_too_long(self, retry_after: float | None) -> bool:
        """Return whether the server asked for a longer wait than allowed."""
        return retry_after is not None and retry_after > self.max_retry_after


NO_RETRY = RetryPolicy(max_attempts=1)
