"""The data-sources API: catalog, api-specs, gateways and settings."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.catalog import CATALOG, DataSource
from qtc_connections.emulator.helpers import (
    emulator_of,
    principal_of,
    query_bool,
    read_json_object,
)
from qtc_connections.emulator.ids import now_timestamp
from qtc_connections.emulator.problems import problem

DISABLED_CODE = "DCAAS-2001"
DISABLED_TITLE = "Data source is not enabled."


def _describe(source: DataSource, disabled: bool, include_ui: bool) -> dict[str, Any]:
    connection_part = "/".join(f"{{{name}}}" for name in source.qri_properties)
    body: dict[str, Any] = {
        "dataSourceId": source.data_source_id,
        "dataSourceName": source.display_name,
        "name": source.provider_name,
        "provider": source.provider,
        "providerName": source.provider_name,
        "disabled": disabled,
        "capabilities": [],
        "dataSourceType": "connector",
        "dataSourcePropertyName": "sourceType",
        "qriDefinition": {
            "qriPrefix": source.qri_prefix,
            "connectionPart": {
                "template": connection_part,
                "properties": list(source.qri_properties),
            },
            "pathPart": {"prefix": "/", "template": "", "properties": []},
        },
        "settings": [],
    }
    if include_ui:
        base = f"/customdata/64/{source.provider.removesuffix('.exe')}/web"
        body["uiInfo"] = {
            "iframe": True,
            "connectUrl": f"{base}/standalone/connect-dialog.html",
            "selectUrl": f"{base}/standalone/select-dialog.html",
            "credentialsUrl": f"{base}/standalone/credentials-dialog.html",
            "iconRectUrl": f"{base}/Icons/{source.data_source_id}.png",
            "iconSquareUrl": f"{base}/Icons/{source.data_source_id}-square.png",
            "connectorMainUrl": f"{base}/connector-main-iframe.js",
            "loadModelSupport": "false",
        }
    return body


def _connector_nodes(sources: list[DataSource]) -> list[dict[str, Any]]:
    providers: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for source in sources:
        providers.setdefault(source.provider, []).append(source.data_source_id)
        names[source.provider] = source.provider_name
    return [
        {
            "url": f"connector-{index}.emulator.local:50060",
            "state": "READY",
            "contractType": 2,
            "providerName": names[provider],
            "cachedDataSources": ids,
            "dataSourcesUpdated": True,
        }
        for index, (provider, ids) in enumerate(sorted(providers.items()))
    ]


def _enabled_source(request: Request) -> DataSource:
    data_source_id = request.path_params["dataSourceId"]
    source = CATALOG.get(data_source_id)
    if source is None:
        raise problem(404, f"data source {data_source_id!r} not found")
    if data_source_id in emulator_of(request).store.disabled_data_sources():
        raise problem(
            404,
            f"data source {data_source_id} is disabled in this tenant",
            code=DISABLED_CODE,
            title=DISABLED_TITLE,
        )
    return source


async def list_data_sources(request: Request) -> Response:
    """``GET /api/v1/data-sources``: the catalog, or one entry of it.

    ``dataSourceId`` selects one entry (the last one wins when repeated)
    and gives 404 when it is unknown, or disabled without
    ``includeDisabled=true``.
    """
    store = emulator_of(request).store
    include_disabled = query_bool(request, "includeDisabled")
    include_ui = query_bool(request, "includeui")
    detail = query_bool(request, "detail")
    disabled = store.disabled_data_sources()

    requested = request.query_params.getlist("dataSourceId")
    sources = list(CATALOG.values())
    if requested:
        selected_id = requested[-1]
        sources = [source for source in sources if source.data_source_id == selected_id]
        if not sources or (selected_id in disabled and not include_disabled):
            raise problem(404, f"data source {selected_id!r} not found or not enabled")
    if not include_disabled:
        sources = [
            source for source in sources if source.data_source_id not in disabled
        ]

    body: dict[str, Any] = {
        "dataSources": [
            _describe(source, source.data_source_id in disabled, include_ui)
            for source in sources
        ],
        "lastUpdated": store.data_sources_updated(),
    }
    if detail:
        body["connectorNodes"] = _connector_nodes(sources)
    return JSONResponse(body)


async def get_api_specs(request: Request) -> Response:
    """``GET /api/v1/data-sources/{dataSourceId}/api-specs``."""
    return JSONResponse(_enabled_source(request).api_spec())


async def list_gateways(request: Request) -> Response:
    """``GET /api/v1/data-sources/{dataSourceId}/gateways``: Direct Access only.

    Only ``DG_`` data sources have gateways, so any other id gives 404.
    """
    query_bool(request, "forceRefresh")
    source = _enabled_source(request)
    if not source.data_source_id.startswith("DG_") or not source.gateways:
        raise problem(
            404,
            f"data source {source.data_source_id} has no Direct Access gateway; "
            "only DG_ data sources do",
        )
    gateways = [
        {"id": gateway.gateway_id, "name": gateway.name, "default": gateway.default}
        for gateway in source.gateways
    ]
    return JSONResponse({"gateways": gateways, "refreshedAt": now_timestamp()})


def _known_source(request: Request) -> DataSource:
    data_source_id = request.path_params["dataSourceId"]
    source = CATALOG.get(data_source_id)
    if source is None:
        raise problem(404, f"data source {data_source_id!r} not found")
    return source


async def get_settings(request: Request) -> Response:
    """``GET /api/v1/data-sources/{dataSourceId}/settings``."""
    source = _known_source(request)
    disabled = (
        source.data_source_id in emulator_of(request).store.disabled_data_sources()
    )
    return JSONResponse({"disabled": disabled})


async def put_settings(request: Request) -> Response:
    """``PUT /api/v1/data-sources/{dataSourceId}/settings`` (tenant admins only).

    NOTE: the spec lists no 403 here; the emulator still lets only tenant
    admins disable a data source for the whole tenant.
    """
    source = _known_source(request)
    body = await read_json_object(request)
    disabled = body.get("disabled")
    if not isinstance(disabled, bool):
        raise problem(400, "disabled is required and must be a boolean")
    if not principal_of(request).tenant_admin:
        raise problem(403, "changing data-source settings needs the tenant admin role")
    emulator_of(request).store.set_data_source_disabled(source.data_source_id, disabled)
    return JSONResponse({"disabled": disabled})
