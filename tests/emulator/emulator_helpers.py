"""Shared values and request helpers for the emulator tests."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx

from qtc_connections.emulator import EmulatorConfig, EmulatorServer, RateLimits

ADMIN_KEY = "admin-key-for-emulator-tests"
MEMBER_KEY = "member-key-for-emulator-tests"
CLIENT_ID = "emulator-test-client"
CLIENT_SECRET = "CANARY-client-secret-0b8f"

# Limits high enough that no functional test reaches them.
GENEROUS_LIMITS = RateLimits(read_per_minute=100_000, write_per_minute=100_000)


def make_config(**overrides: Any) -> EmulatorConfig:
    """Build the default tenant with the test keys."""
    overrides.setdefault("rate_limits", GENEROUS_LIMITS)
    return EmulatorConfig.default(
        api_key=ADMIN_KEY,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        member_api_key=MEMBER_KEY,
        **overrides,
    )


def client_for(server: EmulatorServer, key: str | None) -> httpx.Client:
    """Return an httpx client for ``server`` that sends ``key`` as bearer token."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


def unique(prefix: str) -> str:
    """Return ``prefix`` with a random suffix, for names on the shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def b64(text: str) -> str:
    """Return the standard base64 encoding of ``text``."""
    return base64.b64encode(text.encode()).decode()


def mysql_properties(
    password: str = "CANARY-mysql-password", **extra: Any
) -> dict[str, Any]:
    """Return valid properties of a MySQL source connection."""
    properties: dict[str, Any] = {
        "agentId": "gateway-1",
        "server": "mysql.internal",
        "port": "3306",
        "username": "replicator",
        "password": password,
    }
    properties.update(extra)
    return properties


def create_body(
    space_id: str | None,
    name: str | None = None,
    data_source_id: str = "repsrc_mysql",
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a create request body in the published ``dataSourceId`` spelling."""
    body: dict[str, Any] = {
        "dataSourceId": data_source_id,
        "qName": name or unique("conn"),
        "connectionProperties": properties
        if properties is not None
        else mysql_properties(),
    }
    if space_id is not None:
        body["space"] = space_id
    return body


def create_connection(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Create a connection and return the 201 body; fail on any other status."""
    response = client.post("/api/v1/data-connections", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def new_space(client: httpx.Client, space_type: str = "data") -> str:
    """Create a fresh space as the admin and return its id."""
    response = client.post(
        "/api/v1/spaces", json={"name": unique("space"), "type": space_type}
    )
    assert response.status_code == 201, response.text
    space_id: str = response.json()["id"]
    return space_id


def error_detail(response: httpx.Response) -> str:
    """Return the details of every error item joined into one string."""
    return " | ".join(item.get("detail", "") for item in response.json()["errors"])
