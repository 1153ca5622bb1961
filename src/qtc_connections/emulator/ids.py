"""Identifiers and timestamps in the formats Qlik Cloud uses."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta


def new_connection_id() -> str:
    """Return a new connection id, a random (version 4) UUID."""
    return str(uuid.uuid4())


def new_space_id() -> str:
    """Return a new space id: 24 lowercase hex digits."""
    return secrets.token_hex(12)


def new_trace_id() -> str:
    """Return a new trace id for an error body: 32 lowercase hex digits."""
    return secrets.token_hex(16)


def is_uuid(text: str) -> bool:
    """Return whether ``text`` is a UUID in canonical 8-4-4-4-12 form."""
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return False
    return str(parsed) == text.lower()


def format_timestamp(moment: datetime) -> str:
    """Format ``moment`` as UTC ISO 8601 with milliseconds and a ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def now_timestamp() -> str:
    """Return the current time formatted by ``format_timestamp``."""
    return format_timestamp(datetime.now(UTC))


def parse_timestamp(text: str) -> datetime | None:
    """Parse an RFC 3339 date-time, or return ``None`` if it is not one.

    A value without a UTC offset is rejected, because RFC 3339 requires one.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment


def later_timestamp(previous: str) -> str:
    """Return the current timestamp, or 1 ms after ``previous`` if not later.

    An update in the same millisecond as the last one must still change
    the ``updated`` field, so that clients can see the write.
    """
    now = datetime.now(UTC)
    before = parse_timestamp(previous)
    if before is not None and now <= before:
        now = before + timedelta(milliseconds=1)
    return format_timestamp(now)
