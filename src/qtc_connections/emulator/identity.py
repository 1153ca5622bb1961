"""OAuth client-credentials tokens, the users API and the tenants API."""

from __future__ import annotations

import hmac
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.helpers import absolute_url, emulator_of, principal_of
from qtc_connections.emulator.ids import format_timestamp
from qtc_connections.emulator.problems import (
    Api,
    ErrorItem,
    error_response,
    problem,
    rate_limit_response,
)
from qtc_connections.emulator.store import UserRecord, salted_digest

CLIENT_CREDENTIALS = "client_credentials"
TENANT_ADMIN_ROLE = {
    "id": "608050f7634644db3678b1a2",
    "name": "TenantAdmin",
    "type": "default",
    "level": "admin",
}


# OAuth


def _oauth_error(status: int, detail: str) -> Response:
    return error_response(Api.OAUTH, status, [ErrorItem(detail)])


def _token_fields(raw: bytes, content_type: str) -> dict[str, str] | None:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(raw.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        return None
    return body


async def issue_token(request: Request) -> Response:
    """``POST /oauth/token`` with the client-credentials grant.

    The body may be JSON or form-encoded. Tokens act as the client's user
    and expire after the client's token lifetime.
    """
    fields = _token_fields(
        await request.body(), request.headers.get("content-type", "")
    )
    if fields is None:
        return _oauth_error(
            400,
            "the body must be a JSON object of strings or a form-encoded body",
        )
    grant_type = fields.get("grant_type")
    if not grant_type:
        return _oauth_error(400, "grant_type is missing; use client_credentials")
    if grant_type != CLIENT_CREDENTIALS:
        return _oauth_error(
            400, f"grant_type {grant_type!r} is not supported; use client_credentials"
        )
    for name in ("client_id", "client_secret"):
        if not fields.get(name):
            return _oauth_error(400, f"{name} is missing")

    client_id = fields["client_id"]
    emulator = emulator_of(request)
    retry_after = emulator.limiter.acquire(f"oauth:{client_id}", 2)
    if retry_after is not None:
        return rate_limit_response(retry_after)

    client = emulator.store.oauth_client(client_id)
    offered = salted_digest(client.salt, fields["client_secret"]) if client else ""
    if client is None or not hmac.compare_digest(offered, client.secret_digest):
        return _oauth_error(401, "the client id or client secret is invalid")

    requested = fields.get("scope", "").split()
    unknown = [scope for scope in requested if scope not in client.scopes]
    if unknown:
        return _oauth_error(
            400, f"scope {' '.join(unknown)} is not assigned to this client"
        )
    scope = " ".join(requested or client.scopes)

    token = secrets.token_urlsafe(32)
    expires_at = time.time() + client.lifetime
    emulator.store.save_access_token(token, client.user_id, client_id, expires_at)
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_at": format_timestamp(datetime.fromtimestamp(expires_at, UTC)),
        "expires_in": client.lifetime,
        "scope": scope,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# Users


def _redirect(request: Request, path: str, status: int) -> Response:
    query = request.url.query
    location = absolute_url(request, path) + (f"?{query}" if query else "")
    html = f'<a href="{location}">Moved</a>.'
    return Response(
        html, status, headers={"Location": location}, media_type="text/html"
    )


async def users_me(request: Request) -> Response:
    """``GET /api/v1/users/me``: 301 to the caller's user resource.

    The query string is kept, so ``?fields=`` reaches the target.
    """
    return _redirect(request, f"/api/v1/users/{principal_of(request).user_id}", 301)


def render_user(request: Request, user: UserRecord, tenant_id: str) -> dict[str, Any]:
    """Render a user in the shape of the users API's ``User``."""
    return {
        "id": user.user_id,
        "tenantId": tenant_id,
        "name": user.name,
        "subject": user.subject,
        "email": user.email,
        "status": "active",
        "createdAt": user.created,
        "lastUpdatedAt": user.created,
        "locale": "en",
        "assignedRoles": [dict(TENANT_ADMIN_ROLE)] if user.tenant_admin else [],
        "assignedGroups": [],
        "assignedScopes": [],
        "links": {
            "self": {"href": absolute_url(request, f"/api/v1/users/{user.user_id}")}
        },
    }


def _select_fields(body: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Keep ``id`` and the comma-separated ``fields``, or all without a list.

    NOTE: the spec marks subject, name and tenantId as required. A published
    example of ``fields=`` returns only the id and the requested fields, and
    the emulator follows the example.
    """
    if fields is None:
        return body
    requested = {name.strip() for name in fields.split(",") if name.strip()}
    return {
        key: value for key, value in body.items() if key == "id" or key in requested
    }


async def get_user(request: Request) -> Response:
    """``GET /api/v1/users/{userId}``: self, or anyone for a tenant admin."""
    emulator = emulator_of(request)
    principal = principal_of(request)
    user_id = request.path_params["userId"]
    user = emulator.store.user(user_id)
    if user is None:
        raise problem(404, f"user {user_id} not found", title="Not found")
    if user_id != principal.user_id and not principal.tenant_admin:
        raise problem(403, "reading another user needs the tenant admin role")

    tenant = emulator.store.tenant()
    body = render_user(request, user, tenant.tenant_id if tenant else "")
    return JSONResponse(_select_fields(body, request.query_params.get("fields")))


# Tenants


def _first_admin_id(request: Request) -> str:
    identities = emulator_of(request).config.identities
    return next((i.user_id for i in identities if i.tenant_admin), "")


async def tenants_me(request: Request) -> Response:
    """``GET /api/v1/tenants/me``: 302 to the tenant resource."""
    tenant = emulator_of(request).store.tenant()
    if tenant is None:
        raise problem(404, "the tenant has not been seeded")
    return _redirect(request, f"/api/v1/tenants/{tenant.tenant_id}", 302)


async def get_tenant(request: Request) -> Response:
    """``GET /api/v1/tenants/{tenantId}``.

    ``hostnames`` falls back to the host and port the client used when
    none are stored.
    """
    tenant = emulator_of(request).store.tenant()
    tenant_id = request.path_params["tenantId"]
    if tenant is None or tenant.tenant_id != tenant_id:
        raise problem(404, f"tenant {tenant_id} not found")
    body = {
        "id": tenant.tenant_id,
        "name": tenant.name,
        "hostnames": tenant.hostnames or [request.url.netloc],
        "region": "local",
        "datacenter": "local",
        "status": "active",
        "created": tenant.created,
        "lastUpdated": tenant.created,
        "statusLastUpdatedAt": tenant.created,
        "createdByUser": _first_admin_id(request),
        "enableAnalyticCreation": True,
        "enableAppOpeningFeedback": False,
        "links": {
            "self": {"href": absolute_url(request, f"/api/v1/tenants/{tenant_id}")}
        },
    }
    return JSONResponse(body)
