"""Injected faults: latency, chosen statuses and dropped connections.

A rule matches a method (or ``*``) and a path prefix, and applies to the
next ``count`` matching requests (every matching request when ``count`` is
``None``). The first matching rule in the order of addition wins, and only
one rule applies to a request.

Dropping a connection needs the socket, which ASGI does not expose. So
``EmulatorServer`` runs uvicorn with an ``H11Protocol`` subclass (see
``server.py``) that records each connection's transport under the client
address in a ``TransportRegistry``. To drop, the app reads the rest of the
request, closes that transport and waits for the ``http.disconnect``
message. uvicorn (checked with 0.55) sends its 500 for an app that
returned without a response only while the connection is still open, so
the client sees the connection close without any response, which httpx
raises as ``RemoteProtocolError``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, replace
from typing import Any

from starlette.types import Message, Receive, Scope, Send

logger = logging.getLogger("qtc_connections.emulator")

FAULT_KINDS = ("latency", "status", "drop", "drop_after_commit")


@dataclass(frozen=True)
class FaultRule:
    """One fault to inject.

    ``seconds`` is the delay of a ``latency`` rule. ``status`` is the code
    that a ``status`` rule returns, with ``Retry-After: retry_after`` when
    it is 429. ``rule_id`` is assigned when the rule is added.
    """

    kind: str
    method: str = "*"
    path_prefix: str = "/"
    count: int | None = 1
    seconds: float = 0.0
    status: int = 503
    retry_after: int = 1
    rule_id: int = 0

    def __post_init__(self) -> None:
        _validate_rule(self)

    def matches(self, method: str, path: str) -> bool:
        """Return whether the rule applies to a request."""
        method_matches = self.method == "*" or self.method.upper() == method
        return method_matches and path.startswith(self.path_prefix)

    def as_json(self) -> dict[str, Any]:
        """Render the rule for the ``/_emulator/faults`` API."""
        return {
            "id": self.rule_id,
            "kind": self.kind,
            "method": self.method,
            "path": self.path_prefix,
            "count": self.count,
            "seconds": self.seconds,
            "status": self.status,
            "retry_after": self.retry_after,
        }

    @classmethod
    def from_json(cls, body: object) -> FaultRule:
        """Build a rule from a ``/_emulator/faults`` request body.

        Raises:
            ValueError: the body is not an object or a field is invalid.
        """
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        unknown = set(body) - {
            "kind",
            "method",
            "path",
            "count",
            "seconds",
            "status",
            "retry_after",
        }
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        if "kind" not in body:
            raise ValueError(f"kind is missing; use one of {', '.join(FAULT_KINDS)}")
        try:
            return cls(
                kind=body["kind"],
                method=body.get("method", "*"),
                path_prefix=body.get("path", "/"),
                count=body.get("count", 1),
                seconds=body.get("seconds", 0.0),
                status=body.get("status", 503),
                retry_after=body.get("retry_after", 1),
            )
        except TypeError as error:
            raise ValueError(str(error)) from None


def _validate_rule(rule: FaultRule) -> None:
    if rule.kind not in FAULT_KINDS:
        raise ValueError(
            f"kind {rule.kind!r} is invalid; use one of {', '.join(FAULT_KINDS)}"
        )
    if not isinstance(rule.method, str) or not rule.method:
        raise ValueError("method must be an HTTP method or '*'")
    if not isinstance(rule.path_prefix, str) or not rule.path_prefix.startswith("/"):
        raise ValueError("path must be a path prefix that starts with '/'")
    if rule.count is not None and (not _is_int(rule.count) or rule.count < 1):
        raise ValueError("count must be an integer of at least 1, or null for no limit")
    if isinstance(rule.seconds, bool) or not isinstance(rule.seconds, int | float):
        raise ValueError("seconds must be a number")
    if rule.seconds < 0:
        raise ValueError("seconds must not be negative")
    if not _is_int(rule.status) or not 100 <= rule.status <= 599:
        raise ValueError("status must be an HTTP status code from 100 to 599")
    if not _is_int(rule.retry_after) or rule.retry_after < 0:
        raise ValueError("retry_after must be a non-negative integer of seconds")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultInjector:
    """Thread-safe list of fault rules, consumed as requests match them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, rule: FaultRule) -> FaultRule:
        """Add ``rule`` after the existing ones and return it with its id."""
        with self._lock:
            added = replace(rule, rule_id=self._next_id)
            self._next_id += 1
            self._rules.append(added)
            return added

    def take(self, method: str, path: str) -> FaultRule | None:
        """Return the first rule matching a request, using up one of its count."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.count is None:
                    return rule
                if rule.count == 1:
                    del self._rules[index]
                else:
                    self._rules[index] = replace(rule, count=rule.count - 1)
                return rule
            return None

    def rules(self) -> list[FaultRule]:
        """Return the rules not used up yet, in order."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()


class TransportRegistry:
    """Open connections' transports, keyed by the client's (host, port)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transports: dict[tuple[str, int], asyncio.BaseTransport] = {}

    def register(
        self, client: tuple[str, int], transport: asyncio.BaseTransport
    ) -> None:
        """Record the transport of a new connection."""
        with self._lock:
            self._transports[client] = transport

    def unregister(self, client: tuple[str, int]) -> None:
        """Forget a closed connection."""
        with self._lock:
            self._transports.pop(client, None)

    def get(self, client: object) -> asyncio.BaseTransport | None:
        """Return the transport of the connection from ``client``, if known."""
        if not isinstance(client, list | tuple) or len(client) != 2:
            return None
        with self._lock:
            return self._transports.get((str(client[0]), int(client[1])))


class BodyTracker:
    """An ASGI ``receive`` wrapper that notes when the request body has ended."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.complete = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.complete = True
        return message


async def drop_connection(
    scope: Scope, receive: Receive, send: Send, registry: TransportRegistry | None
) -> None:
    """Close the client's connection without sending any response.

    ``receive`` may be a ``BodyTracker`` that the app already read from.
    """
    transport = registry.get(scope.get("client")) if registry is not None else None
    if transport is None:
        # Served by something other than EmulatorServer: start a response
        # that promises a body and never send it. uvicorn then closes the
        # connection, and the client fails on the truncated body instead.
        logger.warning(
            "no transport for %s; truncating the response", scope.get("client")
        )
        headers = [(b"content-length", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        return

    # Read the rest of the request first: closing a socket that still has
    # unread bytes makes the kernel send a reset instead of a clean close.
    tracker = receive if isinstance(receive, BodyTracker) else BodyTracker(receive)
    while not tracker.complete:
        await tracker()

    transport.close()
    while (await tracker())["type"] != "http.disconnect":
        pass
