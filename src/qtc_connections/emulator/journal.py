"""A record of every request the emulated API received.

Entries hold the method, path, query string and final status only, never
headers or bodies, so that a test can show which requests reached the
server (or that none did) without the journal ever containing a secret.
Requests to the ``/_emulator/`` control API are not recorded.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

# Oldest entries are discarded beyond this many, to bound memory in a
# long-running ``qtc emulator serve``.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class JournalEntry:
    """One request: ``status`` is ``None`` when no response was sent.

    ``fault`` names the injected fault kind that applied, if any.
    """

    method: str
    path: str
    query: str
    status: int | None
    fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Render the entry for the ``/_emulator/requests`` response."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "fault": self.fault,
        }


class RequestJournal:
    """Thread-safe, bounded list of journal entries in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=MAX_ENTRIES)

    def record(self, entry: JournalEntry) -> None:
        """Append an entry."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[JournalEntry]:
        """Return a copy of the entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._entries.clear()
