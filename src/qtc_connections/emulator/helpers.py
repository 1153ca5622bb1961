"""Request parsing and URL building shared by the route modules."""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import urlencode

from starlette.requests import Request

from qtc_connections.emulator.access import Access, Principal
from qtc_connections.emulator.problems import problem
from qtc_connections.emulator.runtime import Emulator

PRINCIPAL_KEY = "qtc_emulator.principal"


def emulator_of(request: Request) -> Emulator:
    """Return the emulator that serves ``request``."""
    return cast(Emulator, request.app.state.emulator)


def principal_of(request: Request) -> Principal:
    """Return the authenticated principal, set by the auth middleware."""
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise RuntimeError("internal error: the request was not authenticated")
    return principal


def access_of(request: Request) -> Access:
    """Return the principal's view of spaces for this request."""
    return Access(emulator_of(request).store, principal_of(request))


async def read_json(request: Request) -> Any:
    """Parse the request body as JSON.

    Raises:
        ApiProblem: 400 if the body is empty or not valid JSON.
    """
    raw = await request.body()
    if not raw.strip():
        raise problem(400, "the request body is empty; send a JSON document")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        # The decoder's message gives a position only, never the content.
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "not UTF-8"
        raise problem(400, f"the request body is not valid JSON: {reason}") from None


async def read_json_object(request: Request) -> dict[str, Any]:
    """Parse the request body as a JSON object.

    Raises:
        ApiProblem: 400 if the body is not a JSON object.
    """
    body = await read_json(request)
    if not isinstance(body, dict):
        raise problem(400, "the request body must be a JSON object")
    return body


def query_bool(request: Request, name: str) -> bool:
    """Return a boolean query parameter; absent means false.

    Raises:
        ApiProblem: 400 if the value is not ``true`` or ``false``.
    """
    value = request.query_params.get(name)
    if value is None:
        return False
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise problem(
            400, f"query parameter {name} must be true or false, not {value!r}"
        )
    return lowered == "true"


def query_int(
    request: Request, name: str, minimum: int, maximum: int | None
) -> int | None:
    """Return an integer query parameter, or ``None`` when absent.

    Raises:
        ApiProblem: 400 if the value is not an integer within the bounds.
    """
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise problem(
            400, f"query parameter {name} must be an integer, not {value!r}"
        ) from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise problem(400, f"query parameter {name} must be at least {minimum}{upper}")
    return number


def origin(request: Request) -> str:
    """Return the scheme and authority the client used, such as http://host:port."""
    return f"{request.url.scheme}://{request.url.netloc}"


def absolute_url(request: Request, path: str) -> str:
    """Return an absolute URL on the request's origin for ``path``."""
    return origin(request) + path


def self_link(request: Request) -> str:
    """Return the absolute URL of the request itself."""
    query = request.url.query
    return absolute_url(request, request.url.path) + (f"?{query}" if query else "")


def link_with(request: Request, replacements: dict[str, str | None]) -> str:
    """Return the request URL with some query parameters replaced or removed."""
    items = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key not in replacements
    ]
    items.extend(
        (key, value) for key, value in replacements.items() if value is not None
    )
    query = urlencode(items)
    return absolute_url(request, request.url.path) + (f"?{query}" if query else "")
