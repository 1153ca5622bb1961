"""An ASGI middleware that records every HTTP exchange passing through an app.

``RecordingMiddleware`` wraps the emulator's Starlette app from the outside
and appends one ``Exchange`` per HTTP request to an ``ExchangeLog``. The
log is the input of the contract validator.

Request bodies are recorded as sent, so they may contain passwords or
client secrets. Exchanges stay in memory and are never printed: reports
show only the method, path, status and a validator message that omits
string values. The ``Authorization`` header is not recorded at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qtc_connections.emulator.middleware import OUTCOME_KEY

# Only these request headers matter to the contract check: the media type
# selects the body schema, and the user agent tells the library's own
# requests from those that tests write by hand.
RECORDED_REQUEST_HEADERS = ("content-type", "user-agent")


@dataclass(frozen=True)
class Exchange:
    """One request and the response the app sent for it.

    ``status`` is ``None`` when no response started, for example when a
    fault rule dropped the connection. ``fault`` is the kind of the
    emulator fault rule that applied (``latency``, ``status``, ``drop`` or
    ``drop_after_commit``), or ``None``. ``origin`` names the test that was
    running when the exchange was recorded.
    """

    method: str
    path: str
    query: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int | None
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    fault: str | None = None
    origin: str = ""

    def request_header(self, name: str) -> str:
        """Return a recorded request header, or ``""`` when it was not sent."""
        return _header(self.request_headers, name)

    def response_header(self, name: str) -> str:
        """Return a response header, or ``""`` when the response had none."""
        return _header(self.response_headers, name)


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str:
    target = name.lower()
    for key, value in headers:
        if key == target:
            return value
    return ""


class ExchangeLog:
    """A thread-safe list of exchanges.

    The emulator serves requests on its own thread while tests run on the
    main one, so every method takes a lock. ``origin`` is the label stamped
    on exchanges recorded from now on.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._exchanges: list[Exchange] = []
        self.origin = ""

    def add(self, exchange: Exchange) -> None:
        """Append ``exchange``."""
        with self._changed:
            self._exchanges.append(exchange)
            self._changed.notify_all()

    def exchanges(self) -> list[Exchange]:
        """Return a copy of the exchanges recorded so far, oldest first."""
        with self._changed:
            return list(self._exchanges)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until ``count`` exchanges are recorded.

        A dropped connection is recorded only after the server notices the
        disconnect, which may be after the client has seen the error.
        Returns whether the count was reached.
        """
        with self._changed:
            return self._changed.wait_for(
                lambda: len(self._exchanges) >= count, timeout
            )

    def clear(self) -> None:
        """Forget every recorded exchange."""
        with self._changed:
            self._exchanges.clear()


class RecordingMiddleware:
    """Record each HTTP exchange of the wrapped app in ``log``.

    The whole request body is read before the app runs and then replayed to
    it, so the body is recorded even when the app responds without reading
    it (a 401, say). Non-HTTP scopes pass through unrecorded. The exchange
    is recorded even when the app raises, and the exception propagates.
    """

    def __init__(self, app: ASGIApp, log: ExchangeLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        body, disconnected = await _read_body(receive)
        replay = _replaying_receive(body, disconnected, receive)
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.log.add(self._exchange(scope, body, response))

        # The exchange is recorded before the last body chunk goes out: once
        # the client has the whole response, a test may read the log at once.
        response = _ResponseCapture(send, before_last_chunk=record)
        try:
            await self.app(scope, replay, response.send)
        finally:
            record()

    def _exchange(
        self, scope: Scope, body: bytes, response: _ResponseCapture
    ) -> Exchange:
        headers = tuple(
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in scope.get("headers", [])
            if name.decode("latin-1").lower() in RECORDED_REQUEST_HEADERS
        )
        outcome = scope.get(OUTCOME_KEY)
        return Exchange(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            request_headers=headers,
            request_body=body,
            status=response.status,
            response_headers=response.headers,
            response_body=b"".join(response.body),
            fault=getattr(outcome, "fault", None),
            origin=self.log.origin,
        )


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """Read the request body; also return whether the client disconnected."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replaying_receive(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    """Return a ``receive`` that yields ``body`` once, then defers to ``receive``."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        if disconnected:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


class _ResponseCapture:
    """Forward response messages to ``send`` and keep a copy of them.

    ``before_last_chunk`` runs just before the final body message is sent.
    """

    def __init__(self, send: Send, before_last_chunk: Callable[[], None]) -> None:
        self._send = send
        self._before_last_chunk = before_last_chunk
        self.status: int | None = None
        self.headers: tuple[tuple[str, str], ...] = ()
        self.body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = tuple(
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in message.get("headers", [])
            )
        elif message["type"] == "http.response.body":
            self.body.append(message.get("body", b""))
            if not message.get("more_body", False):
                self._before_last_chunk()
        await self._send(message)


def wrap_app(app: ASGIApp, log: ExchangeLog) -> ASGIApp:
    """Return ``app`` wrapped so that its exchanges are recorded in ``log``."""
    return RecordingMiddleware(app, log)
