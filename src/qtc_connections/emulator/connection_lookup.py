"""Lookups and checks that every data-connections route shares."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from qtc_connections.emulator.access import Access
from qtc_connections.emulator.catalog import CATALOG, DataSource
from qtc_connections.emulator.helpers import emulator_of
from qtc_connections.emulator.ids import is_uuid
from qtc_connections.emulator.problems import problem
from qtc_connections.emulator.store import ConnectionRecord, Store

MAX_PROPERTIES_TAGS = 31
MAX_STATEMENT_TAGS = 32
MAX_TAG_BYTES = 256


def tenant_id_of(store: Store) -> str:
    """Return the tenant id, which every connection body carries."""
    tenant = store.tenant()
    if tenant is None:
        raise RuntimeError("internal error: the tenant has not been seeded")
    return tenant.tenant_id


def find_connection(request: Request, access: Access) -> ConnectionRecord:
    """Return the connection named by the path, by id or by name.

    With ``type=connectionname`` the path contains a name, and ``spaceId``
    picks the space when several visible connections share it.

    Raises:
        ApiProblem: 400 for an id that is not a UUID or an ambiguous name,
            404 when nothing visible matches.
    """
    key = request.path_params["qID"]
    lookup = request.query_params.get("type")
    if lookup is not None and lookup != "connectionname":
        raise problem(
            400, f"query parameter type must be connectionname, not {lookup!r}"
        )
    store = emulator_of(request).store
    if lookup == "connectionname":
        return _find_by_name(store, access, key, request.query_params.get("spaceId"))

    return find_connection_by_id(store, access, key)


def find_connection_by_id(store: Store, access: Access, key: str) -> ConnectionRecord:
    """Return the visible connection with id ``key``.

    Raises:
        ApiProblem: 400 if ``key`` is not a UUID, 404 if no visible
            connection has that id.
    """
    if not is_uuid(key):
        raise problem(
            400, f"qID {key!r} is not a valid UUID; pass type=connectionname for a name"
        )
    record = store.connection(key.lower())
    if record is None or not access.can_see_connection(record):
        raise problem(404, f"data connection {key} not found")
    return record


def _find_by_name(
    store: Store, access: Access, name: str, space_id: str | None
) -> ConnectionRecord:
    found = [
        record
        for record in store.connections()
        if record.name == name and access.can_see_connection(record)
    ]
    if space_id is not None:
        found = [record for record in found if record.space_id == space_id]
    if not found:
        where = f" in space {space_id}" if space_id else ""
        raise problem(404, f"data connection named {name!r} not found{where}")
    if len(found) > 1:
        raise problem(
            400,
            f"{len(found)} data connections are named {name!r}; "
            "add spaceId to choose one",
        )
    return found[0]


def require_privilege(access: Access, record: ConnectionRecord, privilege: str) -> None:
    """Raise 403 unless the principal has ``privilege`` on ``record``."""
    if privilege not in access.privileges(record):
        raise problem(
            403,
            f"no {privilege} privilege on data connection {record.connection_id}; "
            "ask for Can manage on its space",
        )


def check_name_free(
    store: Store,
    name: str,
    space_id: str,
    owner_id: str,
    ignore_id: str | None = None,
) -> None:
    """Raise 409 if another connection in the space already has ``name``.

    For the personal space (``space_id`` empty) the scope is the owner's
    personal connections. NOTE: the scope of the real service's uniqueness
    check is unpublished; names here are unique per space, case-sensitively.
    """
    for record in store.connections():
        if record.connection_id == ignore_id or record.name != name:
            continue
        if record.space_id != space_id:
            continue
        if space_id or record.owner_id == owner_id:
            where = f"space {space_id}" if space_id else "the personal space"
            raise problem(
                409, f"a data connection named {name!r} already exists in {where}"
            )


def target_space(access: Access, space: object) -> str:
    """Return the id of the space a connection goes to, ``""`` for personal.

    Raises:
        ApiProblem: 400 for a non-string, 404 for an unknown space, 403 when
            the principal may not create connections there.
    """
    if space is None or space == "":
        return ""
    if not isinstance(space, str):
        raise problem(400, "space must be a space id (a string)")
    record = access.space(space)
    if record is None:
        raise problem(404, f"space {space} not found")
    if not access.can_see_space(record) or not access.can_create_connection(record):
        needed = "Can manage" if record.type == "data" else "Can edit or Can manage"
        raise problem(
            403,
            f"no permission to create data connections in space {space}; "
            f"this needs {needed} on the space",
        )
    return space


def check_tags(tags: object, maximum: int) -> list[str]:
    """Validate a ``tags`` array and return it.

    Raises:
        ApiProblem: 400 unless it is at most ``maximum`` strings of at most
            256 bytes each.
    """
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise problem(400, "tags must be an array of strings")
    if len(tags) > maximum:
        raise problem(
            400, f"tags holds {len(tags)} tags; at most {maximum} are allowed"
        )
    for tag in tags:
        if len(tag.encode()) > MAX_TAG_BYTES:
            raise problem(400, f"a tag is longer than {MAX_TAG_BYTES} bytes")
    return list(tags)


def require_name(body: dict[str, Any], key: str = "qName") -> str:
    """Return a required, non-empty string field of ``body``."""
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise problem(400, f"{key} is missing or empty; it must be a non-empty string")
    return value


def enabled_source(store: Store, data_source_id: str) -> DataSource:
    """Return an enabled data source of the catalog.

    Raises:
        ApiProblem: 400 for an unknown or disabled data source.
    """
    source = CATALOG.get(data_source_id)
    if source is None:
        raise problem(
            400,
            f"data source {data_source_id!r} not found; "
            "GET /api/v1/data-sources lists the valid ids",
        )
    if data_source_id in store.disabled_data_sources():
        raise problem(400, f"data source {data_source_id} is disabled in this tenant")
    return source
