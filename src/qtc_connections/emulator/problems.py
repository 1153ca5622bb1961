"""Error bodies of each emulated API, and the exception handlers raise.

Qlik's APIs do not share one error shape. All use ``{"errors": [...]}``
with ``code`` and ``title`` in each item, but the ``status`` member is an
integer in data-connections, a number in users, a string in oauth and
tenants, and absent in spaces and data-sources. Spaces, users and tenants
also add a top-level ``traceId``.

NOTE: Qlik publishes few error codes: DCERROR-0010 (data-connections,
400), DCAAS-2001 (data source not enabled), USERS-7 (user not found) and
HTTP-429 (rate limit). Every other code here is the emulator's own, built
as ``<API prefix>-<HTTP status>``.
"""

from __future__ import annotations

import enum
import http
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.ids import new_trace_id


class Api(enum.Enum):
    """The API family a path belongs to, which fixes its error shape."""

    DATA_CONNECTIONS = "data-connections"
    DATA_SOURCES = "data-sources"
    SPACES = "spaces"
    USERS = "users"
    TENANTS = "tenants"
    OAUTH = "oauth"
    EMULATOR = "emulator"
    OTHER = "other"


_PREFIXES = (
    ("/api/v1/data-connections", Api.DATA_CONNECTIONS),
    ("/api/v1/data-sources", Api.DATA_SOURCES),
    ("/api/v1/spaces", Api.SPACES),
    ("/api/v1/users", Api.USERS),
    ("/api/v1/tenants", Api.TENANTS),
    ("/oauth", Api.OAUTH),
    ("/_emulator", Api.EMULATOR),
)

_CODE_PREFIXES = {
    Api.DATA_CONNECTIONS: "DCERROR",
    Api.DATA_SOURCES: "DCAAS",
    Api.SPACES: "SPACES",
    Api.USERS: "USERS",
    Api.TENANTS: "TENANTS",
    Api.OAUTH: "OAUTH",
    Api.EMULATOR: "EMULATOR",
    Api.OTHER: "HTTP",
}

_PUBLISHED_CODES = {
    (Api.DATA_CONNECTIONS, 400): "DCERROR-0010",
    (Api.USERS, 404): "USERS-7",
}

RATE_LIMIT_CODE = "HTTP-429"
RATE_LIMIT_TITLE = "API rate limit reached."


def api_for_path(path: str) -> Api:
    """Return the API family that serves ``path``."""
    for prefix, api in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return api
    return Api.OTHER


def default_code(api: Api, status: int) -> str:
    """Return the error code used for ``status`` in ``api``."""
    published = _PUBLISHED_CODES.get((api, status))
    if published is not None:
        return published
    return f"{_CODE_PREFIXES[api]}-{status}"


def status_title(status: int) -> str:
    """Return the standard reason phrase of ``status``, or ``"Error"``."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass(frozen=True)
class ErrorItem:
    """One entry of an ``errors`` array, before it is shaped for an API.

    ``code`` and ``title`` default to the API's code and the status phrase.
    """

    detail: str
    code: str | None = None
    title: str | None = None


@dataclass(eq=False)
class ApiProblem(Exception):
    """A request failed; the app renders it in the shape of the path's API.

    The detail of each item must never contain a secret value.
    """

    status: int
    items: list[ErrorItem]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        details = "; ".join(item.detail for item in self.items)
        return f"{self.status}: {details}"


def problem(
    status: int, detail: str, *, code: str | None = None, title: str | None = None
) -> ApiProblem:
    """Build an ``ApiProblem`` with a single error item."""
    return ApiProblem(status, [ErrorItem(detail, code=code, title=title)])


def error_body(api: Api, status: int, items: list[ErrorItem]) -> dict[str, Any]:
    """Shape ``items`` as the error body of ``api``."""
    shaped = [_shape_item(api, status, item) for item in items]
    body: dict[str, Any] = {"errors": shaped}
    if api in (Api.SPACES, Api.USERS, Api.TENANTS):
        body["traceId"] = new_trace_id()
    return body


def _shape_item(api: Api, status: int, item: ErrorItem) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "code": item.code or default_code(api, status),
        "title": item.title or status_title(status),
        "detail": item.detail,
    }
    if api in (Api.DATA_CONNECTIONS, Api.USERS, Api.EMULATOR, Api.OTHER):
        shaped["status"] = status
    elif api in (Api.OAUTH, Api.TENANTS):
        shaped["status"] = str(status)
    elif api is Api.DATA_SOURCES:
        # NOTE: the data-sources spec lists "details" as required, a typo
        # for "detail" that published examples do not follow. Both are sent
        # so that the body validates against the spec as published.
        shaped["details"] = item.detail
        shaped["meta"] = {}
    return shaped


def error_response(
    api: Api,
    status: int,
    items: list[ErrorItem],
    headers: dict[str, str] | None = None,
) -> Response:
    """Render an error response in the shape of ``api``."""
    return JSONResponse(error_body(api, status, items), status, headers=headers)


def rate_limit_response(retry_after: int) -> Response:
    """Render the documented 429 response with its ``Retry-After`` header."""
    detail = f"Retry in {retry_after} seconds, when the limit is lifted."
    body = {
        "errors": [
            {"code": RATE_LIMIT_CODE, "title": RATE_LIMIT_TITLE, "detail": detail}
        ]
    }
    return JSONResponse(body, 429, headers={"Retry-After": str(retry_after)})
