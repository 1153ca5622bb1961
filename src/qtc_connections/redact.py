"""Keep secret values out of text that leaves the process.

Secrets are never formatted into messages on purpose, but a server may echo
a value back in an error detail, or a traceback may show a local variable.
As a second line of defence, every secret that the library resolves is
registered here, and ``redact`` replaces any registered value in a piece of
text with ``(sensitive)``. Exception messages, log records and CLI output
all pass through it.
"""

from __future__ import annotations

import json
import logging
import threading

SENSITIVE = "(sensitive)"

# Values shorter than this are not registered: replacing every "a" or "1"
# in output would garble it without protecting anything worth hiding.
MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()


def register_secret(value: str) -> None:
    """Remember ``value`` so that ``redact`` hides it from now on.

    The escaped forms are registered too: a server that quotes a request
    body writes a ``"`` or ``\\`` in a password as ``\\"`` or ``\\\\``, and an
    HTTP library's error shows a bad header value as a Python bytes repr.
    """
    if len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _values.update(_escaped_forms(value))
        # A value may also travel as its single lines, for example a PEM
        # key quoted line by line in a server message.
        # PEM armour lines such as "-----BEGIN PRIVATE KEY-----" are left
        # out: they are not secret and appear in public keys too.
        for line in value.splitlines():
            stripped = line.strip()
            if len(stripped) >= MIN_SECRET_LENGTH * 4 and not stripped.startswith(
                "-----"
            ):
                _values.update(_escaped_forms(stripped))


def _escaped_forms(value: str) -> set[str]:
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        repr(value.encode("utf-8", "backslashreplace"))[2:-1],
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def redact(text: str) -> str:
    """Return ``text`` with every registered secret value replaced."""
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, SENSITIVE)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that redacts registered secrets from each record.

    The CLI installs it on its handler; library code never configures
    logging itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
