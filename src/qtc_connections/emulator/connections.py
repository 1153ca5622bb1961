"""The data-connections API: create, get, replace and delete.

The list lives in ``connection_list``, PATCH in ``connection_patch`` and
the bulk actions in ``connection_actions``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.catalog import CATALOG
from qtc_connections.emulator.connection_lookup import (
    MAX_PROPERTIES_TAGS,
    MAX_STATEMENT_TAGS,
    check_name_free,
    check_tags,
    enabled_source,
    find_connection,
    require_name,
    require_privilege,
    target_space,
    tenant_id_of,
)
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
    query_bool,
    read_json_object,
)
from qtc_connections.emulator.ids import (
    is_uuid,
    later_timestamp,
    new_connection_id,
    now_timestamp,
)
from qtc_connections.emulator.problems import problem
from qtc_connections.emulator.store import (
    ConnectionRecord,
    SecretChanges,
    SecretValue,
    Store,
)
from qtc_connections.emulator.validation import check_create_properties


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
    requested_id = _optional_string(body, "qID")
    engine_id = _optional_string(body, "qEngineObjectID")
    if requested_id and not is_uuid(requested_id):
        raise problem(400, f"qID {requested_id!r} is not a valid UUID")
    if requested_id and engine_id and engine_id.lower() != requested_id.lower():
        raise problem(400, "qEngineObjectID must equal qID")
    connection_id = (requested_id or engine_id or new_connection_id()).lower()
    if not is_uuid(connection_id):
        raise problem(400, "qEngineObjectID is not a valid UUID")
    if store.connection(connection_id) is not None:
        raise problem(409, f"data connection {connection_id} already exists")
    return connection_id


def statement_fields(
    body: dict[str, Any], current: tuple[int, int, bool] = (1, 0, False)
) -> tuple[int, int, bool]:
    """Validate ``qLogOn``, ``qArchitecture`` and ``qSeparateCredentials``.

    Returns the three values as stored, taking ``current`` for absent fields.
    """
    log_on, architecture, separate = current
    if "qLogOn" in body:
        if body["qLogOn"] not in LOG_ON_VALUES:
            allowed = ", ".join(LOG_ON_VALUES)
            raise problem(400, f"qLogOn must be one of the strings {allowed}")
        log_on = LOG_ON_VALUES[body["qLogOn"]]
    if "qArchitecture" in body:
        architecture = body["qArchitecture"]
        if architecture not in (0, 1) or isinstance(architecture, bool):
            raise problem(400, "qArchitecture must be 0 (64-bit) or 1 (32-bit)")
    if "qSeparateCredentials" in body:
        separate = body["qSeparateCredentials"]
        if not isinstance(separate, bool):
            raise problem(400, "qSeparateCredentials must be a boolean")
    return log_on, int(architecture), separate


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

    NOTE: the published guide states that PUT cannot update inline credentials.
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
    current = (record.log_on, record.architecture, record.separate_credentials)
    flags = statement_fields(body, current)
    _apply_replacement(emulator.store, record, body, space_id, flags)
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
    key = request.path_params["qID"]
    if request.query_params.get("type") is None and not is_uuid(key):
        # The spec lists 204, 403 and 404 for DELETE and no 400, so an id
        # that cannot exist is reported as not found.
        raise problem(404, f"data connection {key} not found")
    record = find_connection(request, access)
    require_privilege(access, record, "delete")
    emulator.store.delete_connection(record.connection_id)
    return Response(status_code=204)
