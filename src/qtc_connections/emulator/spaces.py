"""The spaces API: list, get, create and the list of space types.

A caller sees only the spaces it owns or has a role in. The personal
space is never a list item. ``GET /spaces/{id}`` gives 404 for unknown
and invisible spaces alike.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.access import ASSIGNABLE_ROLES, Access
from qtc_connections.emulator.config import SPACE_TYPES
from qtc_connections.emulator.helpers import (
    absolute_url,
    access_of,
    emulator_of,
    link_with,
    query_int,
    read_json_object,
    self_link,
)
from qtc_connections.emulator.ids import new_space_id, now_timestamp
from qtc_connections.emulator.paging import decode_cursor, encode_cursor
from qtc_connections.emulator.problems import problem
from qtc_connections.emulator.store import SpaceRecord

ROLE_TYPES = (
    "basicconsumer",
    "codeveloper",
    "consumer",
    "contributor",
    "dataconsumer",
    "datapreview",
    "facilitator",
    "operator",
    "producer",
    "publisher",
)
SORT_FIELDS = {"type": "type", "name": "name", "createdat": "created_at"}
DEFAULT_LIMIT = 10
# NOTE: no maximum limit is published for spaces; the emulator caps it at 100.
MAX_LIMIT = 100
MAX_NAME_LENGTH = 256
FORBIDDEN_NAME_CHARACTERS = re.compile(r'["*?<>/|\\:]')


def render_space(
    request: Request, space: SpaceRecord, access: Access
) -> dict[str, Any]:
    """Render a space with the caller's roles and allowed actions."""
    tenant = emulator_of(request).store.tenant()
    path = f"/api/v1/spaces/{space.space_id}"
    body: dict[str, Any] = {
        "id": space.space_id,
        "name": space.name,
        "type": space.type,
        "ownerId": space.owner_id,
        "createdBy": space.created_by,
        "tenantId": tenant.tenant_id if tenant else "",
        "createdAt": space.created_at,
        "updatedAt": space.updated_at,
        "links": {
            "self": {"href": absolute_url(request, path)},
            "assignments": {"href": absolute_url(request, f"{path}/assignments")},
        },
        "meta": {
            "roles": sorted(access.roles_in(space.space_id)),
            "actions": access.space_actions(space),
            "assignableRoles": list(ASSIGNABLE_ROLES.get(space.type, [])),
        },
    }
    if space.description:
        body["description"] = space.description
    return body


def _comma_list(
    request: Request, name: str, allowed: tuple[str, ...]
) -> set[str] | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    items = {item.strip() for item in value.split(",") if item.strip()}
    unknown = sorted(items - set(allowed))
    if unknown:
        raise problem(
            400, f"{name} {', '.join(unknown)} is invalid; use {', '.join(allowed)}"
        )
    return items


def _filtered(request: Request, access: Access) -> list[SpaceRecord]:
    params = request.query_params
    name = params.get("name")
    types = _comma_list(request, "type", SPACE_TYPES)
    roles = _comma_list(request, "roles", ROLE_TYPES)
    owner_id = params.get("ownerId")
    action = params.get("action")
    if action is not None and action != "publish":
        raise problem(400, "action supports only publish")
    # The emulator's spaces have no environment, so only an empty filter matches.
    environment = params.get("environment.name") or params.get("environmentId")

    selected = []
    for space in access.visible_spaces():
        if name is not None and name.casefold() not in space.name.casefold():
            continue
        if types is not None and space.type not in types:
            continue
        if roles is not None and not roles & access.roles_in(space.space_id):
            continue
        if owner_id is not None and space.owner_id != owner_id:
            continue
        if action is not None and action not in access.space_actions(space):
            continue
        if environment:
            continue
        selected.append(space)
    return selected


def _sorted(request: Request, spaces: list[SpaceRecord]) -> list[SpaceRecord]:
    text = request.query_params.get("sort")
    if not text:
        return spaces
    descending = text.startswith("-")
    name = text[1:] if text[0] in "+-" else text
    attribute = SORT_FIELDS.get(name.lower())
    if attribute is None:
        raise problem(
            400, f"cannot sort spaces on {name!r}; use type, name or createdAt"
        )

    def key(space: SpaceRecord) -> tuple[str, str]:
        value = str(getattr(space, attribute))
        return (value.casefold() if attribute == "name" else value, space.space_id)

    return sorted(spaces, key=key, reverse=descending)


async def list_spaces(request: Request) -> Response:
    """``GET /api/v1/spaces``, paged by ``next`` and ``prev`` cursors."""
    access = access_of(request)
    limit = query_int(request, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
    cursor = request.query_params.get("next") or request.query_params.get("prev")
    parameter = "next" if request.query_params.get("next") else "prev"
    offset = decode_cursor(cursor, parameter) if cursor else 0
    spaces = _sorted(request, _filtered(request, access))

    total = len(spaces)
    links: dict[str, Any] = {"self": {"href": self_link(request)}}
    if offset + limit < total:
        links["next"] = {
            "href": link_with(
                request, {"next": encode_cursor(offset + limit), "prev": None}
            )
        }
    if offset > 0:
        previous = encode_cursor(max(0, offset - limit))
        links["prev"] = {"href": link_with(request, {"prev": previous, "next": None})}

    page = spaces[offset : offset + limit]
    meta = {
        "count": total,
        "personalSpace": {
            "resourceType": "space",
            "actions": ["create", "delete", "read", "update"],
        },
    }
    data = [render_space(request, space, access) for space in page]
    return JSONResponse({"data": data, "meta": meta, "links": links})


async def get_space(request: Request) -> Response:
    """``GET /api/v1/spaces/{spaceId}``."""
    access = access_of(request)
    space_id = request.path_params["spaceId"]
    space = access.space(space_id)
    if space is None or not access.can_see_space(space):
        raise problem(404, f"space {space_id} not found or not accessible")
    return JSONResponse(render_space(request, space, access))


async def space_types(request: Request) -> Response:
    """``GET /api/v1/spaces/types``."""
    return JSONResponse({"data": list(SPACE_TYPES)})


def _checked_new_space(body: dict[str, Any]) -> tuple[str, str, str]:
    name, space_type = body.get("name"), body.get("type")
    description = body.get("description", "")
    if not isinstance(name, str) or not name.strip():
        raise problem(400, "name is required")
    if len(name) > MAX_NAME_LENGTH:
        raise problem(400, f"name is longer than {MAX_NAME_LENGTH} characters")
    if FORBIDDEN_NAME_CHARACTERS.search(name):
        raise problem(400, 'name must not contain any of " * ? < > / \\ : |')
    if space_type not in SPACE_TYPES:
        raise problem(400, f"type is required; use one of {', '.join(SPACE_TYPES)}")
    if not isinstance(description, str):
        raise problem(400, "description must be a string")
    return name, space_type, description


async def create_space(request: Request) -> Response:
    """``POST /api/v1/spaces`` (tenant admins only).

    The creator owns the new space and has the ``facilitator`` role in it.
    NOTE: the scope of name uniqueness is unpublished; the emulator
    rejects a name used by any space of the tenant, ignoring case.
    """
    access = access_of(request)
    body = await read_json_object(request)
    name, space_type, description = _checked_new_space(body)
    if not access.principal.tenant_admin:
        raise problem(403, "creating spaces needs the tenant admin role")

    store = emulator_of(request).store
    if any(space.name.casefold() == name.casefold() for space in store.spaces()):
        raise problem(409, f"a space named {name!r} already exists")

    now = now_timestamp()
    owner = access.principal.user_id
    space = SpaceRecord(
        new_space_id(), name, space_type, description, owner, owner, now, now
    )
    store.insert_space(space, {owner: ["facilitator"]})
    return JSONResponse(render_space(request, space, access_of(request)), 201)
