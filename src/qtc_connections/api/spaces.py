"""``/api/v1/spaces``: find the space a connection lives in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from qtc_connections.api.models import Space
from qtc_connections.errors import NotFoundError, ResolutionError

if TYPE_CHECKING:
    from qtc_connections.client import QlikClient

__all__ = ["SPACES_PATH", "Spaces"]

SPACES_PATH = "/api/v1/spaces"

# Space ids are 24 hexadecimal characters in every published example.
_SPACE_ID = re.compile(r"^[0-9a-f]{24}$")

# NOTE: the spaces spec documents no maximum for limit (default 10); 100
# matches the data-connections maximum and keeps the request count low.
SPACES_PAGE_SIZE = 100


class Spaces:
    """Spaces visible to the caller, reached as ``client.spaces``."""

    def __init__(self, client: QlikClient) -> None:
        self._client = client

    def list(
        self, *, name: str | None = None, type: str | None = None
    ) -> Iterator[Space]:
        """Yield visible spaces, optionally filtered.

        ``GET /api/v1/spaces``. ``name`` is a case-insensitive substring
        match on the server, never an exact match; ``type`` is one type or
        a comma-separated list (``shared``, ``managed``, ``data``).
        """
        params = {"name": name, "type": type, "limit": SPACES_PAGE_SIZE}
        for item in self._client.paginate(SPACES_PATH, params=params):
            yield Space.from_api(item, what="space")

    def get(self, space_id: str) -> Space:
        """Return one space by id.

        ``GET /api/v1/spaces/{spaceId}``.

        Raises:
            NotFoundError: unknown, or not visible to the caller.
        """
        body = self._client.get_json(f"{SPACES_PATH}/{space_id}")
        return Space.from_api(body, what=f"space {space_id}")

    def resolve(self, name_or_id: str, *, type: str | None = None) -> Space:
        """Return the space with this id, or else with exactly this name.

        A 24-hex-character value is tried as an id first. Otherwise the
        list is searched by name and only exact, case-sensitive matches
        are kept, because the server's name filter is a substring match.

        Raises:
            ResolutionError: no visible space has that name, or several do.
        """
        if _SPACE_ID.match(name_or_id):
            try:
                return self.get(name_or_id)
            except NotFoundError:
                pass

        matches = [
            s for s in self.list(name=name_or_id, type=type) if s.name == name_or_id
        ]
        if not matches:
            raise ResolutionError(
                f"space {name_or_id!r} not found, or not visible to this identity; "
                "list spaces with 'qtc spaces list'"
            )
        if len(matches) > 1:
            found = ", ".join(f"{s.id} ({s.type})" for s in matches)
            raise ResolutionError(
                f"{len(matches)} spaces are named {name_or_id!r}: {found}; "
                "use the space id instead"
            )
        return matches[0]
