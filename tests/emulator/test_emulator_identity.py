"""Authentication on every API, OAuth tokens, users and tenants."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from emulator_helpers import CLIENT_ID, CLIENT_SECRET, client_for, make_config

from qtc_connections.emulator import EmulatorServer

# One path per API, with the type its error items give to ``status``.
API_PATHS = [
    ("/api/v1/data-connections", int),
    ("/api/v1/data-sources", None),
    ("/api/v1/spaces", None),
    ("/api/v1/users/me", int),
    ("/api/v1/tenants/me", str),
]


def _token(client: httpx.Client, **fields: str) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": CLIENT_ID}
    body["client_secret"] = CLIENT_SECRET
    body.update(fields)
    return client.post("/oauth/token", json=body)


@pytest.mark.parametrize(("path", "status_type"), API_PATHS)
def test_missing_token_gets_401(anonymous, path, status_type):
    response = anonymous.get(path)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["errors"][0]
    assert "Authorization header is missing" in error["detail"]
    if status_type is None:
        assert "status" not in error
    else:
        assert isinstance(error["status"], status_type)


@pytest.mark.parametrize(("path", "status_type"), API_PATHS)
def test_unknown_token_gets_401(server, path, status_type):
    with client_for(server, "CANARY-not-a-key-6a0f") as client:
        response = client.get(path)

    assert response.status_code == 401
    assert "CANARY-not-a-key-6a0f" not in response.text


def test_non_bearer_scheme_gets_401(server):
    with httpx.Client(
        base_url=server.url, headers={"Authorization": "Basic abc"}
    ) as client:
        response = client.get("/api/v1/spaces")

    assert response.status_code == 401
    assert "Bearer <token>" in response.json()["errors"][0]["detail"]


def test_token_from_json_body(anonymous):
    response = _token(anonymous)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 21600
    assert body["scope"] == "user_default admin_classic"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["expires_at"])
    assert CLIENT_SECRET not in response.text


def test_token_from_form_body(anonymous):
    fields = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "user_default",
    }

    response = anonymous.post("/oauth/token", data=fields)

    assert response.status_code == 200
    assert response.json()["scope"] == "user_default"


def test_token_authenticates_api_calls(anonymous, server, config):
    token = _token(anonymous).json()["access_token"]

    with client_for(server, token) as client:
        response = client.get("/api/v1/users/me", follow_redirects=True)

    assert response.json()["id"] == config.admin.user_id


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"grant_type": "password"}, "grant_type 'password' is not supported"),
        ({"grant_type": ""}, "grant_type is missing"),
        ({"client_id": ""}, "client_id is missing"),
        ({"client_secret": ""}, "client_secret is missing"),
        ({"scope": "admin.apps"}, "scope admin.apps is not assigned"),
    ],
)
def test_bad_token_request_gets_400(anonymous, fields, expected):
    response = _token(anonymous, **fields)

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert expected in error["detail"]
    assert error["status"] == "400"


def test_token_body_not_json_gets_400(anonymous):
    response = anonymous.post(
        "/oauth/token", content=b"{", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    "fields",
    [{"client_secret": "CANARY-wrong-secret-9f9f"}, {"client_id": "other-client"}],
)
def test_bad_client_gets_401(anonymous, fields):
    response = _token(anonymous, **fields)

    assert response.status_code == 401
    assert response.json()["errors"][0]["status"] == "401"
    assert "CANARY-wrong-secret-9f9f" not in response.text


def test_token_expires_after_lifetime():
    config = make_config(token_lifetime_seconds=1)
    with EmulatorServer(config) as server, client_for(server, None) as anonymous:
        token = _token(anonymous).json()["access_token"]
        with client_for(server, token) as client:
            fresh = client.get("/api/v1/spaces")
            time.sleep(1.1)
            expired = client.get("/api/v1/spaces")

    assert fresh.status_code == 200
    assert expired.status_code == 401
    assert "expired" in expired.json()["errors"][0]["detail"]


def test_users_me_redirects_301(admin, server, config):
    response = admin.get("/api/v1/users/me")

    assert response.status_code == 301
    expected = f"{server.url}/api/v1/users/{config.admin.user_id}"
    assert response.headers["location"] == expected
    assert response.headers["content-type"].startswith("text/html")


def test_user_resource_for_admin(admin, config):
    response = admin.get(f"/api/v1/users/{config.admin.user_id}")

    body = response.json()
    assert body["tenantId"] == config.tenant_id
    assert body["subject"] == config.admin.subject
    assert body["assignedRoles"][0]["name"] == "TenantAdmin"
    assert len(body["id"]) == 24


def test_users_me_keeps_fields_query(member, config):
    response = member.get(
        "/api/v1/users/me", params={"fields": "assignedRoles"}, follow_redirects=True
    )

    assert response.json() == {"id": config.member.user_id, "assignedRoles": []}


def test_member_cannot_read_admin_user(member, config):
    response = member.get(f"/api/v1/users/{config.admin.user_id}")

    assert response.status_code == 403


def test_unknown_user_404_in_users_shape(admin):
    response = admin.get("/api/v1/users/nosuchuser")

    body = response.json()
    assert response.status_code == 404
    assert body["errors"][0]["code"] == "USERS-7"
    assert body["errors"][0]["status"] == 404
    assert "traceId" in body


def test_tenants_me_redirects_302(admin, server, config):
    response = admin.get("/api/v1/tenants/me")

    assert response.status_code == 302
    assert (
        response.headers["location"]
        == f"{server.url}/api/v1/tenants/{config.tenant_id}"
    )


def test_tenant_hostname_matches_server(admin, server, config):
    body = admin.get("/api/v1/tenants/me", follow_redirects=True).json()

    assert body["id"] == config.tenant_id
    assert len(body["id"]) == 32
    assert body["hostnames"] == [server.url.removeprefix("http://")]


def test_unknown_tenant_404(admin):
    response = admin.get("/api/v1/tenants/other")

    assert response.status_code == 404
    assert response.json()["errors"][0]["status"] == "404"


def test_unknown_api_path_404(admin):
    response = admin.get("/api/v1/nothing-here")

    assert response.status_code == 404


def test_wrong_method_405(admin):
    response = admin.post("/api/v1/data-sources")

    assert response.status_code == 405
    assert "POST is not allowed" in response.json()["errors"][0]["detail"]
