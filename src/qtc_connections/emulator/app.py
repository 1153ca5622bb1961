"""Assembly of the emulator's Starlette application."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qtc_connections.emulator import (
    connection_actions,
    connection_list,
    connection_patch,
    connections,
    control,
    data_sources,
    identity,
    spaces,
)
from qtc_connections.emulator.config import EmulatorConfig
from qtc_connections.emulator.middleware import (
    AuthMiddleware,
    FaultMiddleware,
    RequestLogMiddleware,
)
from qtc_connections.emulator.problems import (
    ApiProblem,
    ErrorItem,
    api_for_path,
    error_response,
)
from qtc_connections.emulator.runtime import Emulator
from qtc_connections.emulator.store import Store

CONNECTIONS = "/api/v1/data-connections"
DATA_SOURCES = "/api/v1/data-sources/{dataSourceId}"


def _routes() -> list[Route]:
    return [
        Route(
            f"{CONNECTIONS}/actions/delete",
            connection_actions.bulk_delete,
            methods=["POST"],
        ),
        Route(
            f"{CONNECTIONS}/actions/update",
            connection_actions.bulk_update,
            methods=["POST"],
        ),
        Route(
            f"{CONNECTIONS}/actions/duplicate",
            connection_actions.duplicate,
            methods=["POST"],
        ),
        Route(CONNECTIONS, connection_list.list_connections, methods=["GET"]),
        Route(CONNECTIONS, connections.create_connection, methods=["POST"]),
        Route(f"{CONNECTIONS}/{{qID}}", connections.get_connection, methods=["GET"]),
        Route(
            f"{CONNECTIONS}/{{qID}}",
            connection_patch.patch_connection,
            methods=["PATCH"],
        ),
        Route(
            f"{CONNECTIONS}/{{qID}}", connections.replace_connection, methods=["PUT"]
        ),
        Route(
            f"{CONNECTIONS}/{{qID}}", connections.delete_connection, methods=["DELETE"]
        ),
        Route("/api/v1/data-sources", data_sources.list_data_sources, methods=["GET"]),
        Route(f"{DATA_SOURCES}/api-specs", data_sources.get_api_specs, methods=["GET"]),
        Route(f"{DATA_SOURCES}/gateways", data_sources.list_gateways, methods=["GET"]),
        Route(f"{DATA_SOURCES}/settings", data_sources.get_settings, methods=["GET"]),
        Route(f"{DATA_SOURCES}/settings", data_sources.put_settings, methods=["PUT"]),
        Route("/api/v1/spaces/types", spaces.space_types, methods=["GET"]),
        Route("/api/v1/spaces", spaces.list_spaces, methods=["GET"]),
        Route("/api/v1/spaces", spaces.create_space, methods=["POST"]),
        Route("/api/v1/spaces/{spaceId}", spaces.get_space, methods=["GET"]),
        Route("/api/v1/users/me", identity.users_me, methods=["GET"]),
        Route("/api/v1/users/{userId}", identity.get_user, methods=["GET"]),
        Route("/api/v1/tenants/me", identity.tenants_me, methods=["GET"]),
        Route("/api/v1/tenants/{tenantId}", identity.get_tenant, methods=["GET"]),
        Route("/oauth/token", identity.issue_token, methods=["POST"]),
        Route("/_emulator/faults", control.add_fault, methods=["POST"]),
        Route("/_emulator/faults", control.list_faults, methods=["GET"]),
        Route("/_emulator/faults", control.clear_faults, methods=["DELETE"]),
        Route("/_emulator/reset", control.reset, methods=["POST"]),
        Route("/_emulator/requests", control.list_requests, methods=["GET"]),
        Route("/_emulator/requests", control.clear_requests, methods=["DELETE"]),
    ]


async def _render_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiProblem)
    api = api_for_path(request.url.path)
    return error_response(api, error.status, error.items, error.headers or None)


async def _render_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    api = api_for_path(request.url.path)
    if error.status_code == 404:
        detail = f"no resource at {request.url.path}"
    elif error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = str(error.detail)
    headers = dict(error.headers) if error.headers else None
    return error_response(api, error.status_code, [ErrorItem(detail)], headers)


def create_app(config: EmulatorConfig) -> Starlette:
    """Build the emulator app for ``config``, seeding its database if asked.

    The app's ``state.emulator`` is the ``Emulator`` that tests use to reach
    the store, the fault rules and the request journal in-process.
    """
    store = Store(config.db_path)
    if config.seed:
        store.seed(config)
    emulator = Emulator(config=config, store=store)

    app = Starlette(
        routes=_routes(),
        middleware=[
            Middleware(RequestLogMiddleware, emulator=emulator),
            Middleware(FaultMiddleware, emulator=emulator),
            Middleware(AuthMiddleware, emulator=emulator),
        ],
        exception_handlers={
            ApiProblem: _render_problem,
            HTTPException: _render_http_error,
        },
    )
    app.state.emulator = emulator
    return app
