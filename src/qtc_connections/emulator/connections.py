"""The data-connections API: list, create, get, replace and delete.

PATCH lives in ``connection_patch`` and the bulk actions in
``connection_actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.access import Access
from qtc_connections.emulator.catalog import CATALOG, DataSource
from qtc_connections.emulator.connection_views import (
    LOG_ON_VALUES,
    connect_statement,
    connection_qri,
    parse_statement,
    render_connection,
    render_created,
)
from qtc_connections.emulator.helpers import (
    access_of,
    emulator_of,
    link_with,
    query_bool,
    query_int,
    read_json_object,
    self_link,
)
from qtc_connections.emulator.ids import (
    is_uuid,
    later_timestamp,
    new_connection_id,
    now_timestamp,
)
from qtc_connections.emulator.paging import decode_cursor, encode_cursor
from qtc_connections.emulator.problems import problem
from qtc_connections.emulator.scim import Expression, FilterError, matches, parse_filter
from qtc_connections.emulator.store import (
    ConnectionRecord,
    SecretChanges,
    SecretValue,
    Store,
)
from qtc_connections.emulator.validation import check_create_properties

FILTER_ATTRIBUTES = {
    name.lower(): name
    for name in ("qName", "qType", "datasourceID", "created", "updated", "qri")
}
SORT_FIELDS = {
    name.lower(): name
    for name in ("qName", "qType", "datasourceID", "created", "updated", "qri", "qID")
}
MAX_PROPERTIES_TAGS = 31
MAX_STATEMENT_TAGS = 32
MAX_TAG_BYTES = 256


# Lookup helpers shared with PATCH and the actions


def tenant_id_of(store: Store) -> str:
    """Return the tenant id, which every connection body carries."""
    tenant = store.tenant()
    if tenant is None:
        raise RuntimeError("internal error: the tenant has not been seeded")
    return tenant.tenant_id


def find_connection(request: Request, access: Access) -> ConnectionRecord:
    """Return the connection named by the path, by id or by name.

    With ``type=connectionname`` the path holds a name, and ``spaceId``
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
    """Raise 403 unless the principal holds ``privilege`` on ``record``."""
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
        raise problem(
            403,
            f"no permission to create data connections in space {space}; "
            "this needs Can manage on a data space",
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
    """Return a required, non-empty name field of ``body``."""
    name = body.get(key)
    if not isinstance(name, str) or not name.strip():
        raise problem(400, f"{key} is missing or empty; give the connection a name")
    return name


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


# List


@dataclass
class ListQuery:
    """Validated query parameters of ``GET /api/v1/data-connections``."""

    limit: int | None
    offset: int
    data_name: str
    space_id: str | None
    personal: bool
    owned_by_me: bool
    user_id: str | None
    include_disabled: bool
    include_qris: bool
    expression: Expression | None
    sort_field: str | None
    descending: bool
    case_insensitive: bool

    @classmethod
    def parse(cls, request: Request) -> ListQuery:
        """Read and validate the list parameters.

        ``extended``, ``owner``, ``noDatafiles`` and ``locale`` are
        accepted and have no effect: the emulator holds no DataFiles
        connections, and case-insensitive sorting ignores the locale.
        """
        for name in ("extended", "noDatafiles"):
            query_bool(request, name)
        params = request.query_params
        data_name = params.get("dataName", "data")
        if not data_name:
            raise problem(400, "query parameter dataName must not be empty")
        sort_field, descending = _parse_sort(params.get("sort"))
        page = params.get("page")
        return cls(
            limit=query_int(request, "limit", 1, 100),
            offset=decode_cursor(page, "page") if page else 0,
            data_name=data_name,
            space_id=params.get("spaceId"),
            personal=query_bool(request, "personal"),
            owned_by_me=query_bool(request, "ownedByMe"),
            user_id=params.get("userId"),
            include_disabled=query_bool(request, "includeDisabled"),
            include_qris=query_bool(request, "includeQris"),
            expression=_parse_filter_param(params.get("filter")),
            sort_field=sort_field,
            descending=descending,
            case_insensitive=query_bool(request, "caseinsensitive"),
        )


def _parse_filter_param(text: str | None) -> Expression | None:
    if text is None:
        return None
    try:
        return parse_filter(text, FILTER_ATTRIBUTES)
    except FilterError as error:
        raise problem(400, f"invalid filter: {error}") from None


def _parse_sort(text: str | None) -> tuple[str | None, bool]:
    if text is None or text == "":
        return None, False
    descending = text.startswith("-")
    name = text[1:] if text[0] in "+-" else text
    field = SORT_FIELDS.get(name.lower())
    if field is None:
        allowed = ", ".join(sorted(SORT_FIELDS.values()))
        raise problem(400, f"cannot sort on {name!r}; use one of {allowed}")
    return field, descending


def _filter_fields(record: ConnectionRecord) -> dict[str, str | None]:
    return {
        "qName": record.name,
        "qType": record.q_type,
        "datasourceID": record.datasource_id,
        "created": record.created,
        "updated": record.updated,
        "qri": record.qri or None,
        "qID": record.connection_id,
    }


def _selected(
    request: Request, access: Access, query: ListQuery, disabled: set[str]
) -> list[ConnectionRecord]:
    principal = access.principal
    if query.user_id is not None and query.user_id != principal.user_id:
        if not principal.tenant_admin:
            raise problem(403, "userId of another user needs the tenant admin role")

    selected = []
    for record in emulator_of(request).store.connections():
        if query.user_id is not None and principal.tenant_admin:
            # An admin may list another user's connections, personal ones too.
            if record.owner_id != query.user_id:
                continue
        elif not access.can_see_connection(record):
            continue
        elif query.user_id is not None and record.owner_id != query.user_id:
            continue
        if _excluded(record, principal.user_id, query, disabled):
            continue
        selected.append(record)
    return selected


def _excluded(
    record: ConnectionRecord, user_id: str, query: ListQuery, disabled: set[str]
) -> bool:
    if query.space_id is not None and record.space_id != query.space_id:
        return True
    if query.space_id is None and query.personal and record.space_id:
        return True
    if query.owned_by_me and record.owner_id != user_id:
        return True
    if not query.include_disabled and record.datasource_id in disabled:
        return True
    expression = query.expression
    return expression is not None and not matches(expression, _filter_fields(record))


def _sorted(
    records: list[ConnectionRecord], query: ListQuery
) -> list[ConnectionRecord]:
    if query.sort_field is None:
        return records
    field = query.sort_field

    def key(record: ConnectionRecord) -> tuple[str, int]:
        value = _filter_fields(record)[field] or ""
        return (value.casefold() if query.case_insensitive else value, record.seq)

    return sorted(records, key=key, reverse=query.descending)


async def list_connections(request: Request) -> Response:
    """``GET /api/v1/data-connections``: the connections the caller can see."""
    emulator = emulator_of(request)
    access = access_of(request)
    query = ListQuery.parse(request)
    disabled = emulator.store.disabled_data_sources()
    records = _sorted(_selected(request, access, query, disabled), query)

    total = len(records)
    links: dict[str, Any] = {"self": {"href": self_link(request)}}
    if query.limit is not None:
        end = query.offset + query.limit
        if end < total:
            links["next"] = {"href": link_with(request, {"page": encode_cursor(end)})}
        if query.offset > 0:
            previous = max(0, query.offset - query.limit)
            links["prev"] = {
                "href": link_with(request, {"page": encode_cursor(previous)})
            }
        records = records[query.offset : end]

    tenant_id = tenant_id_of(emulator.store)
    items = [
        render_connection(
            request, record, access, tenant_id, include_qri=query.include_qris
        )
        for record in records
    ]
    return JSONResponse(
        {query.data_name: items, "meta": {"count": total}, "links": links}
    )


# Create


def _data_source_id(body: dict[str, Any]) -> str:
    # Published examples send dataSourceId where the spec says datasourceID,
    # and both work, so any spelling that matches case-insensitively counts.
    values = [value for key, value in body.items() if key.lower() == "datasourceid"]
    if not values:
        raise problem(
            400, "datasourceID is missing; name the data source of the connection"
        )
    value = values[0]
    if not isinstance(value, str) or not value:
        raise problem(400, "datasourceID must be a non-empty string")
    return value


async def create_connection(request: Request) -> Response:
    """``POST /api/v1/data-connections`` from properties or a connect statement."""
    body = await read_json_object(request)
    if "connectionProperties" in body:
        record, secrets = _record_from_properties(request, body)
    elif "qConnectStatement" in body:
        record, secrets = _record_from_statement(request, body)
    else:
        raise problem(
            400,
            "connectionProperties is missing; send the data source's properties "
            "(or qConnectStatement and qType for a connect statement)",
        )

    emulator = emulator_of(request)
    emulator.store.insert_connection(record, secrets)
    access = access_of(request)
    tenant_id = tenant_id_of(emulator.store)
    return JSONResponse(render_created(request, record, access, tenant_id), 201)


def _record_from_properties(
    request: Request, body: dict[str, Any]
) -> tuple[ConnectionRecord, dict[str, SecretValue]]:
    emulator = emulator_of(request)
    access = access_of(request)
    name = require_name(body)
    source = enabled_source(emulator.store, _data_source_id(body))
    checked = check_create_properties(source, body["connectionProperties"])
    tags = check_tags(body.get("tags", []), MAX_PROPERTIES_TAGS)
    space_id = target_space(access, body.get("space"))
    check_name_free(emulator.store, name, space_id, access.principal.user_id)

    # NOTE: qType of a Data Integration connection is inferred to be the
    # data source's provider, QlikConnectorsCommonService.exe.
    now = now_timestamp()
    record = ConnectionRecord(
        connection_id=new_connection_id(),
        name=name,
        datasource_id=source.data_source_id,
        space_id=space_id,
        owner_id=access.principal.user_id,
        q_type=source.provider,
        connect_statement=connect_statement(source, checked.plain),
        properties=checked.plain,
        tags=[source.tag, *tags],
        qri=connection_qri(source, tenant_id_of(emulator.store), checked.plain),
        credentials_id=new_connection_id(),
        log_on=1,
        architecture=0,
        separate_credentials=checked.plain.get("separateCredentials") is True,
        username=str(checked.plain.get("username", "")),
        app_owner="",
        style="properties",
        created=now,
        updated=now,
    )
    return record, checked.secrets


def _optional_string(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise problem(400, f"{key} must be a string")
    return value


def _statement_id(body: dict[str, Any], store: Store) -> str:
    given = _optional_string(body, "qID")
    engine_id = _optional_string(body, "qEngineObjectID")
    if given and not is_uuid(given):
        raise problem(400, f"qID {given!r} is not a valid UUID")
    if given and engine_id and engine_id.lower() != given.lower():
        raise problem(400, "qEngineObjectID must equal qID")
    connection_id = (given or engine_id or new_connection_id()).lower()
    if not is_uuid(connection_id):
        raise problem(400, "qEngineObjectID is not a valid UUID")
    if store.connection(connection_id) is not None:
        raise problem(409, f"data connection {connection_id} already exists")
    return connection_id


def statement_fields(body: dict[str, Any]) -> tuple[int, int, bool]:
    """Validate ``qLogOn``, ``qArchitecture`` and ``qSeparateCredentials``."""
    log_on = body.get("qLogOn", "1")
    if log_on not in LOG_ON_VALUES:
        allowed = ", ".join(LOG_ON_VALUES)
        raise problem(400, f"qLogOn must be one of the strings {allowed}")
    architecture = body.get("qArchitecture", 0)
    if architecture not in (0, 1) or isinstance(architecture, bool):
        raise problem(400, "qArchitecture must be 0 (64-bit) or 1 (32-bit)")
    separate = body.get("qSeparateCredentials", False)
    if not isinstance(separate, bool):
        raise problem(400, "qSeparateCredentials must be a boolean")
    return LOG_ON_VALUES[log_on], int(architecture), separate


def statement_secrets(body: dict[str, Any]) -> dict[str, SecretValue]:
    """Return ``qPassword`` and ``qConnectionSecret`` of a body, if non-empty."""
    found = {}
    for key in ("qPassword", "qConnectionSecret"):
        value = _optional_string(body, key)
        if value:
            found[key] = SecretValue(value)
    return found


def _record_from_statement(
    request: Request, body: dict[str, Any]
) -> tuple[ConnectionRecord, dict[str, SecretValue]]:
    emulator = emulator_of(request)
    access = access_of(request)
    name = require_name(body)
    statement = require_name(body, "qConnectStatement")
    q_type = require_name(body, "qType")
    data_source_id = _data_source_id(body)
    if data_source_id in emulator.store.disabled_data_sources():
        raise problem(400, f"data source {data_source_id} is disabled in this tenant")
    log_on, architecture, separate = statement_fields(body)
    tags = check_tags(body.get("tags", []), MAX_STATEMENT_TAGS)
    space_id = target_space(access, body.get("space"))
    check_name_free(emulator.store, name, space_id, access.principal.user_id)

    now = now_timestamp()
    qri = _optional_string(body, "qriInRequest") or connection_qri(
        CATALOG.get(data_source_id),
        tenant_id_of(emulator.store),
        parse_statement(statement),
    )
    record = ConnectionRecord(
        connection_id=_statement_id(body, emulator.store),
        name=name,
        datasource_id=data_source_id,
        space_id=space_id,
        owner_id=access.principal.user_id,
        q_type=q_type,
        connect_statement=statement,
        properties={},
        tags=tags,
        qri=qri,
        credentials_id=_optional_string(body, "qCredentialsID") or new_connection_id(),
        log_on=log_on,
        architecture=architecture,
        separate_credentials=separate,
        username=_optional_string(body, "qUsername"),
        app_owner=_optional_string(body, "owner"),
        style="statement",
        created=now,
        updated=now,
    )
    return record, statement_secrets(body)


# Get, replace, delete


async def get_connection(request: Request) -> Response:
    """``GET /api/v1/data-connections/{qID}``, by id or by name."""
    for name in ("extended", "byCredentialName", "noCache"):
        query_bool(request, name)
    parse = query_bool(request, "parseConnection")
    access = access_of(request)
    record = find_connection(request, access)
    tenant_id = tenant_id_of(emulator_of(request).store)
    return JSONResponse(
        render_connection(request, record, access, tenant_id, parse=parse)
    )


async def replace_connection(request: Request) -> Response:
    """``PUT /api/v1/data-connections/{qID}``: replace the statement fields.

    NOTE: the published guide says PUT cannot update inline credentials.
    The emulator rejects ``qPassword`` for connections created from
    properties and stores it for connections created from a statement.
    """
    emulator = emulator_of(request)
    access = access_of(request)
    record = find_connection(request, access)
    require_privilege(access, record, "update")
    body = await read_json_object(request)

    for key in ("qID", "qName", "qConnectStatement", "qType", "qEngineObjectID"):
        require_name(body, key)
    if body["qID"].lower() != record.connection_id or (
        body["qEngineObjectID"].lower() != record.connection_id
    ):
        raise problem(
            400, "qID and qEngineObjectID must equal the id of the connection"
        )
    if record.style == "properties" and _optional_string(body, "qPassword"):
        raise problem(
            400,
            "PUT cannot update the inline credentials of this connection; "
            "use PATCH with its password property",
        )

    space_id = record.space_id
    if "space" in body and body["space"] != record.space_id:
        space_id = target_space(access, body["space"])
    check_name_free(
        emulator.store, body["qName"], space_id, record.owner_id, record.connection_id
    )
    log_on, architecture, separate = statement_fields(body)
    _apply_replacement(
        emulator.store, record, body, space_id, (log_on, architecture, separate)
    )
    return Response(status_code=204)


def _apply_replacement(
    store: Store,
    record: ConnectionRecord,
    body: dict[str, Any],
    space_id: str,
    flags: tuple[int, int, bool],
) -> None:
    record.name = body["qName"]
    record.connect_statement = body["qConnectStatement"]
    record.q_type = body["qType"]
    record.space_id = space_id
    record.log_on, record.architecture, record.separate_credentials = flags
    record.username = _optional_string(body, "qUsername") or record.username
    record.credentials_id = (
        _optional_string(body, "qCredentialsID") or record.credentials_id
    )
    record.updated = later_timestamp(record.updated)

    changes = SecretChanges(values=statement_secrets(body))
    # qConnectionSecret: present replaces, "" clears, absent keeps.
    if body.get("qConnectionSecret") == "":
        changes.removals.add("qConnectionSecret")
    store.save_connection(record, changes)


async def delete_connection(request: Request) -> Response:
    """``DELETE /api/v1/data-connections/{qID}``, by id or by name."""
    emulator = emulator_of(request)
    access = access_of(request)
    record = find_connection(request, access)
    require_privilege(access, record, "delete")
    emulator.store.delete_connection(record.connection_id)
    return Response(status_code=204)
