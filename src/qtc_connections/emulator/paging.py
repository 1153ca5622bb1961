"""Opaque page cursors for list endpoints.

A cursor is the offset of the page's first item, wrapped so that clients
treat it as opaque, as Qlik's documentation requires.
"""

from __future__ import annotations

import base64
import binascii
import json

from qtc_connections.emulator.problems import problem

_MARKER = "qtc-emulator-page"


def encode_cursor(offset: int) -> str:
    """Return the cursor of the page that starts at ``offset``."""
    raw = json.dumps({"m": _MARKER, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parameter: str) -> int:
    """Return the offset in ``cursor``, sent as query parameter ``parameter``.

    Raises:
        ApiProblem: 400 if the cursor was not made by ``encode_cursor``.
    """
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError):
        data = None
    offset = (
        data.get("o") if isinstance(data, dict) and data.get("m") == _MARKER else None
    )
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise problem(
            400,
            f"query parameter {parameter} is not a valid page cursor; "
            "follow the links of a previous response",
        )
    return offset
