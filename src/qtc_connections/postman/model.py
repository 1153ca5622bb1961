"""Builders and readers for Postman collection v2.1 and environment files.

Only the parts of the format that this project writes or reads are covered:
items and folders, requests with a URL, headers and a raw JSON body,
bearer auth, test scripts, and variables. Every value is plain JSON data
(dicts and lists), ready for ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BASE_URL_VARIABLE",
    "COLLECTION_SCHEMA",
    "TOKEN_VARIABLE",
    "Variable",
    "bearer_auth",
    "build_collection",
    "build_environment",
    "build_folder",
    "build_request",
    "build_url",
    "iter_requests",
    "reference",
]

COLLECTION_SCHEMA = (
    "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
)

# Every URL starts with this variable, so that one environment value points
# the whole collection at a tenant or at a local emulator.
BASE_URL_VARIABLE = "baseUrl"
TOKEN_VARIABLE = "token"


@dataclass(frozen=True)
class Variable:
    """One environment variable.

    Attributes:
        key: Variable name, referenced as ``{{key}}``.
        value: Initial value; always empty for a secret.
        secret: Whether Postman masks the value (environment type ``secret``).
    """

    key: str
    value: str = ""
    secret: bool = False

    def to_environment_value(self) -> dict[str, object]:
        """Return the entry of an environment's ``values`` array."""
        return {
            "key": self.key,
            "value": "" if self.secret else self.value,
            "type": "secret" if self.secret else "default",
            "enabled": True,
        }


def reference(name: str) -> str:
    """Return the Postman reference to variable ``name``, such as ``{{token}}``."""
    return "{{" + name + "}}"


def build_url(path: str, query: Mapping[str, str] | None = None) -> dict[str, object]:
    """Build a URL object for ``{{baseUrl}}`` followed by ``path``.

    Args:
        path: Absolute path such as ``/api/v1/data-connections``; it may
            contain variable references.
        query: Query parameters, in the order to send them.
    """
    segments = [segment for segment in path.split("/") if segment]
    raw = reference(BASE_URL_VARIABLE) + "/" + "/".join(segments)
    url: dict[str, object] = {
        "raw": raw,
        "host": [reference(BASE_URL_VARIABLE)],
        "path": segments,
    }
    if query:
        pairs = [{"key": key, "value": value} for key, value in query.items()]
        url["query"] = pairs
        url["raw"] = (
            raw + "?" + "&".join(f"{key}={value}" for key, value in query.items())
        )
    return url


def build_request(
    name: str,
    method: str,
    path: str,
    *,
    body: object = None,
    query: Mapping[str, str] | None = None,
    tests: Sequence[str] = (),
    prerequest: Sequence[str] = (),
) -> dict[str, object]:
    """Build one request item.

    Args:
        name: Name shown in Postman.
        method: HTTP method.
        path: Path after ``{{baseUrl}}``.
        body: JSON value to send as a raw JSON body; ``None`` sends no body.
        query: Query parameters.
        tests: Lines of the test script that runs after the response.
        prerequest: Lines of the script that runs before the request.
    """
    request: dict[str, object] = {
        "method": method,
        "header": [],
        "url": build_url(path, query),
    }
    if body is not None:
        request["header"] = [{"key": "Content-Type", "value": "application/json"}]
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(body, indent=2),
            "options": {"raw": {"language": "json"}},
        }

    item: dict[str, object] = {"name": name, "request": request}
    events = [
        _event(listen, lines)
        for listen, lines in (("prerequest", prerequest), ("test", tests))
        if lines
    ]
    if events:
        item["event"] = events
    return item


def _event(listen: str, lines: Sequence[str]) -> dict[str, object]:
    return {
        "listen": listen,
        "script": {"type": "text/javascript", "exec": list(lines)},
    }


def build_folder(name: str, items: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """Build a folder that contains ``items`` in order."""
    return {"name": name, "item": [dict(item) for item in items]}


def bearer_auth(token_variable: str = TOKEN_VARIABLE) -> dict[str, object]:
    """Build a bearer auth object that sends ``{{token_variable}}``."""
    return {
        "type": "bearer",
        "bearer": [
            {"key": "token", "value": reference(token_variable), "type": "string"}
        ],
    }


def build_collection(
    name: str,
    items: Sequence[Mapping[str, object]],
    *,
    variables: Sequence[Variable] = (),
    description: str = "",
) -> dict[str, object]:
    """Build a collection with bearer auth ``{{token}}`` for every request.

    Secret variables are left out of the collection's ``variable`` list,
    because a collection is shared where an environment may not be.
    """
    info: dict[str, object] = {"name": name, "schema": COLLECTION_SCHEMA}
    if description:
        info["description"] = description
    return {
        "info": info,
        "auth": bearer_auth(),
        "item": [dict(item) for item in items],
        "variable": [
            {"key": variable.key, "value": variable.value, "type": "string"}
            for variable in variables
            if not variable.secret
        ],
    }


def build_environment(name: str, variables: Sequence[Variable]) -> dict[str, object]:
    """Build an environment file that lists ``variables`` in order."""
    return {
        "name": name,
        "values": [variable.to_environment_value() for variable in variables],
    }


def iter_requests(
    items: Sequence[Mapping[str, Any]], folders: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """Yield every request item under ``items``, depth first, in file order.

    Folders (items with an ``item`` list) are entered. Each request comes
    with the names of the folders that contain it.
    """
    for item in items:
        children = item.get("item")
        if isinstance(children, list):
            yield from iter_requests(children, (*folders, str(item.get("name", ""))))
        elif isinstance(item.get("request"), Mapping):
            yield folders, item
