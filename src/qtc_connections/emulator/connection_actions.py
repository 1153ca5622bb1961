"""Bulk delete, bulk update and duplicate of data connections.

The two bulk actions need the tenant admin role, reach every connection in
the tenant, and respond with 207 and one status per requested connection.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.access import Access
from qtc_connections.emulator.catalog import CATALOG
from qtc_connections.emulator.connection_lookup import (
    check_name_free,
    find_connection_by_id,
    require_name,
    target_space,
    tenant_id_of,
)
from qtc_connections.emulator.connection_views import connect_statement, render_created
from qtc_connections.emulator.helpers import access_of, emulator_of, read_json_object
from qtc_connections.emulator.ids import (
    is_uuid,
    later_timestamp,
    new_connection_id,
    now_timestamp,
)
from qtc_connections.emulator.problems import Api, ApiProblem, error_body, problem
from qtc_connections.emulator.store import (
    ConnectionRecord,
    SecretChanges,
    SecretValue,
    Store,
)

SPACE_TYPES = ("personal", "shared", "managed", "data")


def _require_admin(access: Access) -> None:
    if not access.principal.tenant_admin:
        raise problem(403, "this action needs the tenant admin role")


def _connection_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("connections")
    if not isinstance(items, list) or not items:
        raise problem(400, "connections is missing; send a non-empty array of {id}")
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise problem(400, f"connections[{position}].id is missing")
    return items


def _item_error(connection_id: str, error: ApiProblem) -> dict[str, Any]:
    shaped = error_body(Api.DATA_CONNECTIONS, error.status, error.items)["errors"][0]
    return {"id": connection_id, "status": error.status, "error": shaped}


def _lookup(store: Store, connection_id: str) -> ConnectionRecord:
    if not is_uuid(connection_id):
        raise problem(400, f"id {connection_id!r} is not a valid UUID")
    record = store.connection(connection_id.lower())
    if record is None:
        raise problem(404, f"data connection {connection_id} not found")
    return record


async def bulk_delete(request: Request) -> Response:
    """``POST /api/v1/data-connections/actions/delete`` (tenant admins only)."""
    access = access_of(request)
    _require_admin(access)
    store = emulator_of(request).store
    items = _connection_items(await read_json_object(request))

    results = []
    for item in items:
        try:
            record = _lookup(store, item["id"])
        except ApiProblem as error:
            results.append(_item_error(item["id"], error))
            continue
        store.delete_connection(record.connection_id)
        results.append({"id": item["id"], "status": 204})
    return JSONResponse({"data": results}, 207)


async def bulk_update(request: Request) -> Response:
    """``POST /api/v1/data-connections/actions/update``: change owner or space.

    ``spaceId`` needs ``spaceType``, which must match the space. An empty
    ``spaceId`` moves the connection to the personal space of its (new)
    owner. Credentials stay with the connection.
    """
    access = access_of(request)
    _require_admin(access)
    store = emulator_of(request).store
    items = _connection_items(await read_json_object(request))

    results = []
    for item in items:
        try:
            _update_one(store, access, item)
        except ApiProblem as error:
            results.append(_item_error(item["id"], error))
            continue
        results.append({"id": item["id"], "status": 204})
    return JSONResponse({"data": results}, 207)


def _update_one(store: Store, access: Access, item: dict[str, Any]) -> None:
    record = _lookup(store, item["id"])
    owner_id = item.get("ownerId", record.owner_id)
    if not isinstance(owner_id, str) or store.user(owner_id) is None:
        raise problem(404, f"user {owner_id!r} not found")

    space_id = record.space_id
    if "spaceId" in item:
        space_id = _checked_space(access, item)
    check_name_free(store, record.name, space_id, owner_id, record.connection_id)

    record.owner_id = owner_id
    record.space_id = space_id
    record.updated = later_timestamp(record.updated)
    store.save_connection(record)


def _checked_space(access: Access, item: dict[str, Any]) -> str:
    space_id, space_type = item["spaceId"], item.get("spaceType")
    if not isinstance(space_id, str):
        raise problem(400, "spaceId must be a string")
    if space_type not in SPACE_TYPES:
        raise problem(
            400,
            f"spaceType is required with spaceId; use one of {', '.join(SPACE_TYPES)}",
        )
    if space_id == "":
        if space_type != "personal":
            raise problem(
                400,
                "an empty spaceId moves to a personal space; set spaceType personal",
            )
        return ""
    space = access.space(space_id)
    if space is None:
        raise problem(404, f"space {space_id} not found")
    if space.type != space_type:
        raise problem(
            400, f"space {space_id} is a {space.type} space, not {space_type}"
        )
    return space_id


async def duplicate(request: Request) -> Response:
    """``POST /api/v1/data-connections/actions/duplicate``.

    The copy keeps every property and secret of the source, except that
    ``qUsername`` and ``qPassword`` replace the user name and password
    when given. Without ``name``, the copy is named "<name> - Copy", with
    a number added until the name is free in the target space.
    """
    emulator = emulator_of(request)
    access = access_of(request)
    body = await read_json_object(request)
    source_id = body.get("id")
    if not isinstance(source_id, str) or not source_id:
        raise problem(400, "id is missing; give the id of the connection to duplicate")
    username, password = _credential_overrides(body)
    record = find_connection_by_id(emulator.store, access, source_id)

    space_id = target_space(access, body.get("spaceId", record.space_id))
    owner_id = access.principal.user_id
    name = _copy_name(emulator.store, body, record.name, space_id, owner_id)

    now = now_timestamp()
    copy = dataclasses.replace(
        record,
        connection_id=new_connection_id(),
        name=name,
        space_id=space_id,
        owner_id=owner_id,
        properties=dict(record.properties),
        tags=list(record.tags),
        credentials_id=new_connection_id(),
        created=now,
        updated=now,
    )
    source = CATALOG.get(record.datasource_id)
    if username:
        copy.username = username
        if "username" in copy.properties and source is not None:
            copy.properties["username"] = username
            copy.connect_statement = connect_statement(source, copy.properties)

    emulator.store.insert_connection(copy, {})
    emulator.store.copy_secrets(record.connection_id, copy.connection_id)
    if password:
        target = "password" if source and source.spec_for("password") else "qPassword"
        changes = SecretChanges(values={target: SecretValue(password)})
        emulator.store.save_connection(copy, changes)

    tenant_id = tenant_id_of(emulator.store)
    return JSONResponse(render_created(request, copy, access, tenant_id), 201)


def _credential_overrides(body: dict[str, Any]) -> tuple[str, str]:
    username = body.get("qUsername", "")
    password = body.get("qPassword", "")
    if not isinstance(username, str):
        raise problem(400, "qUsername must be a string")
    if not isinstance(password, str):
        raise problem(400, "qPassword must be a string")
    return username, password


def _copy_name(
    store: Store, body: dict[str, Any], original: str, space_id: str, owner_id: str
) -> str:
    if "name" in body:
        name = require_name(body, "name")
        check_name_free(store, name, space_id, owner_id)
        return name
    candidate = f"{original} - Copy"
    number = 2
    while True:
        try:
            check_name_free(store, candidate, space_id, owner_id)
        except ApiProblem:
            candidate = f"{original} - Copy ({number})"
            number += 1
            continue
        return candidate
