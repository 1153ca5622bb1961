"""ASGI middleware: request log and journal, fault injection, authentication.

The app stacks them in that order, outermost first, so the journal also
records requests that a fault or a failed authentication responded to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qtc_connections.emulator.access import Principal
from qtc_connections.emulator.faults import BodyTracker, FaultRule, drop_connection
from qtc_connections.emulator.helpers import PRINCIPAL_KEY
from qtc_connections.emulator.journal import JournalEntry
from qtc_connections.emulator.problems import (
    Api,
    ErrorItem,
    api_for_path,
    error_response,
    rate_limit_response,
    status_title,
)
from qtc_connections.emulator.ratelimit import tier_of
from qtc_connections.emulator.runtime import Emulator
from qtc_connections.emulator.store import Store

logger = logging.getLogger("qtc_connections.emulator")

OUTCOME_KEY = "qtc_emulator.outcome"
CONTROL_PREFIX = "/_emulator"


@dataclass
class Outcome:
    """The outcome of a request, filled in by the inner layers."""

    status: int | None = None
    fault: str | None = None


def _is_control(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


class RequestLogMiddleware:
    """Log one INFO line per request and add it to the journal.

    The line contains the method, path, status, duration and any injected
    fault; never headers, query strings or bodies.
    """

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outcome = Outcome()
        scope[OUTCOME_KEY] = outcome
        started = time.perf_counter()
        recorded = False

        async def send_and_record(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
            # Record before the last body chunk leaves, so that a client
            # holding a complete response always finds it in the journal.
            if message["type"] == "http.response.body" and not message.get(
                "more_body", False
            ):
                self._record(scope, outcome, started)
                recorded = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        except ClientDisconnect:
            # The client went away (for example it timed out during a latency
            # fault) before its body was read; there is no one to answer.
            logger.info(
                "%s %s: client disconnected before the request was read",
                scope["method"],
                scope["path"],
            )
            outcome.status = outcome.status or 499
        except Exception:
            # Starlette responds with 500 after this layer, and uvicorn logs
            # the traceback.
            outcome.status = outcome.status or 500
            raise
        finally:
            if not recorded:
                self._record(scope, outcome, started)

    def _record(self, scope: Scope, outcome: Outcome, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        method, path = scope["method"], scope["path"]
        dropped = outcome.fault in ("drop", "drop_after_commit")
        status_text = "dropped" if dropped else outcome.status
        fault = f" (fault: {outcome.fault})" if outcome.fault else ""
        logger.info("%s %s %s %.1f ms%s", method, path, status_text, elapsed_ms, fault)
        if _is_control(path):
            return
        query = scope.get("query_string", b"").decode("latin-1")
        status = None if outcome.fault == "drop" else outcome.status
        self.emulator.journal.record(
            JournalEntry(method, path, query, status, outcome.fault)
        )


class FaultMiddleware:
    """Apply the first matching fault rule before the request is handled."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_control(scope["path"]):
            await self.app(scope, receive, send)
            return
        rule = self.emulator.faults.take(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return

        outcome: Outcome = scope[OUTCOME_KEY]
        outcome.fault = rule.kind
        if rule.kind == "latency":
            await asyncio.sleep(rule.seconds)
            await self.app(scope, receive, send)
        elif rule.kind == "status":
            await self._respond_with_status(rule, scope, receive, send)
        elif rule.kind == "drop":
            await drop_connection(scope, receive, send, self.emulator.transports)
        else:
            await self._handle_then_drop(scope, receive, send, outcome)

    async def _respond_with_status(
        self, rule: FaultRule, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if rule.status == 429:
            response = rate_limit_response(rule.retry_after)
        elif rule.status >= 400:
            api = api_for_path(scope["path"])
            detail = f"injected fault: {rule.status} {status_title(rule.status)}"
            response = error_response(api, rule.status, [ErrorItem(detail)])
        else:
            response = Response(status_code=rule.status)
        await response(scope, receive, send)

    async def _handle_then_drop(
        self, scope: Scope, receive: Receive, send: Send, outcome: Outcome
    ) -> None:
        async def discard(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]

        # The handler runs to completion and commits, but its response is
        # discarded, so the client cannot tell whether the write happened.
        tracker = BodyTracker(receive)
        await self.app(scope, tracker, discard)
        await drop_connection(scope, tracker, send, self.emulator.transports)


def authenticate(store: Store, headers: Headers) -> tuple[Principal | None, str]:
    """Return the principal of a bearer API key or access token.

    On failure the principal is ``None`` and the string gives the reason,
    without repeating the token.
    """
    header = headers.get("authorization")
    if not header:
        return None, "the Authorization header is missing; send Bearer <API key>"
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None, "the Authorization header must have the form Bearer <token>"
    user = store.user_for_api_key(token) or store.user_for_access_token(
        token, time.time()
    )
    if user is None:
        return None, "the bearer token is invalid or has expired"
    return Principal.of(user), ""


class AuthMiddleware:
    """Require a bearer token on ``/api/`` and ``/_emulator/``, and rate-limit.

    ``/_emulator/`` also needs a tenant admin. ``/oauth/token`` is public
    and limits its own rate per client id.
    """

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        protected = path.startswith("/api/") or _is_control(path)
        if scope["type"] != "http" or not protected:
            await self.app(scope, receive, send)
            return

        api = api_for_path(path)
        principal, reason = authenticate(self.emulator.store, Headers(scope=scope))
        if principal is None:
            challenge = {"WWW-Authenticate": "Bearer"}
            response = error_response(api, 401, [ErrorItem(reason)], challenge)
            await response(scope, receive, send)
            return
        if api is Api.EMULATOR and not principal.tenant_admin:
            detail = "the emulator control API needs a tenant admin's key"
            await error_response(api, 403, [ErrorItem(detail)])(scope, receive, send)
            return

        if api is not Api.EMULATOR:
            retry_after = self.emulator.limiter.acquire(
                principal.user_id, tier_of(scope["method"])
            )
            if retry_after is not None:
                await rate_limit_response(retry_after)(scope, receive, send)
                return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)
