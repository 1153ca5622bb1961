"""Drive every endpoint of a recorded emulator and check the traffic against the specs.

Each test starts its own emulator behind the recorder and sends requests
that succeed and requests that fail. It then asserts that no exchange
violates the specs. It also asserts that every expected (operation, status)
pair was seen, so that a request which went astray cannot pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from contract.recorder import ExchangeLog, wrap_app
from contract.report import ContractReport, check_exchanges
from contract.serving import ServedEmulator, serve_emulator
from contract.specs import default_specs_dir, missing_specs_reason
from contract.validator import ContractValidator, Outcome
from qtc_connections.auth import ApiKeyAuth, OAuthClientCredentials
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorConfig, FaultRule, RateLimits
from qtc_connections.emulator.catalog import CATALOG
from qtc_connections.emulator.config import (
    ADMIN_USER_ID,
    DATA_INTEGRATION_SPACE_ID,
    FINANCE_DATA_SPACE_ID,
    SHARED_SPACE_ID,
)
from qtc_connections.errors import QtcError
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

ADMIN_KEY = "contract-admin-key-3b7d"
MEMBER_KEY = "contract-member-key-9e21"
CLIENT_ID = "contract-m2m-client"
CLIENT_SECRET = "CANARY-client-secret-5e1d"
PASSWORD = "CANARY-db-password-91c2"
UNKNOWN_CONNECTION = "00000000-0000-4000-8000-000000000000"
UNKNOWN_SPACE = "ffffffffffffffffffffffff"

CONNECTIONS = "/api/v1/data-connections"
CONNECTION = "/api/v1/data-connections/{qID}"
DATA_SOURCES = "/api/v1/data-sources"

MYSQL_PROPERTIES = {
    "agentId": "contract-gateway",
    "server": "db.example.com",
    "port": "3306",
    "username": "loader",
    "password": PASSWORD,
}
REST_STATEMENT = (
    'CUSTOM CONNECT TO "provider=QvRestConnector.exe;url=https://x.example;"'
)


@pytest.fixture(scope="module")
def validator() -> ContractValidator:
    reason = missing_specs_reason(default_specs_dir())
    if reason is not None:
        pytest.skip(f"OpenAPI contract not checked: {reason}")
    return ContractValidator.from_directory(default_specs_dir())


@dataclass
class RecordedTenant:
    """A recorded emulator with clients for an admin, a member and no one."""

    served: ServedEmulator
    log: ExchangeLog
    admin: httpx.Client
    member: httpx.Client
    anonymous: httpx.Client


def recorded_tenant(config: EmulatorConfig) -> Iterator[RecordedTenant]:
    log = ExchangeLog()
    with serve_emulator(config, lambda app: wrap_app(app, log)) as served:
        with (
            _client(served.url, ADMIN_KEY) as admin,
            _client(served.url, MEMBER_KEY) as member,
            _client(served.url, None) as anonymous,
        ):
            yield RecordedTenant(served, log, admin, member, anonymous)


def _client(url: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, headers=headers)


def _config(rate_limits: RateLimits | None = None) -> EmulatorConfig:
    return EmulatorConfig.default(
        api_key=ADMIN_KEY,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        member_api_key=MEMBER_KEY,
        rate_limits=rate_limits,
    )


@pytest.fixture
def tenant() -> Iterator[RecordedTenant]:
    yield from recorded_tenant(_config())


def checked(tenant: RecordedTenant, validator: ContractValidator) -> ContractReport:
    return check_exchanges(validator, tenant.log.exchanges())


def seen(report: ContractReport) -> set[tuple[str | None, int | None]]:
    """Return the (operation, status) pairs that were checked."""
    return {
        (verdict.operation, verdict.exchange.status)
        for verdict in report.verdicts
        if verdict.outcome is not Outcome.UNCHECKED
    }


def create_mysql(client: httpx.Client, name: str, space_id: str) -> str:
    body = {
        "qName": name,
        "datasourceID": "repsrc_mysql",
        "space": space_id,
        "connectionProperties": MYSQL_PROPERTIES,
    }
    response = client.post(CONNECTIONS, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["qID"])


def create_rest_statement(client: httpx.Client, name: str) -> str:
    body = {
        "qName": name,
        "datasourceID": "rest",
        "qType": "QvRestConnector.exe",
        "qConnectStatement": REST_STATEMENT,
        "space": SHARED_SPACE_ID,
    }
    response = client.post(CONNECTIONS, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["qID"])


# Data connections


def drive_connection_creates(tenant: RecordedTenant) -> None:
    admin, member = tenant.admin, tenant.member
    create_mysql(admin, "orders", DATA_INTEGRATION_SPACE_ID)
    create_rest_statement(admin, "rest-feed")
    published_spelling = {
        "qName": "orders-examples",
        "dataSourceId": "repsrc_mysql",
        "space": DATA_INTEGRATION_SPACE_ID,
        "connectionProperties": MYSQL_PROPERTIES,
    }
    admin.post(CONNECTIONS, json=published_spelling)

    duplicate_name = {**published_spelling, "qName": "orders"}
    admin.post(CONNECTIONS, json=duplicate_name)
    admin.post(CONNECTIONS, json={"qName": "no-properties", "space": SHARED_SPACE_ID})
    member.post(CONNECTIONS, json={**duplicate_name, "space": FINANCE_DATA_SPACE_ID})
    admin.post(CONNECTIONS, json={**duplicate_name, "space": UNKNOWN_SPACE})
    tenant.anonymous.post(CONNECTIONS, json=duplicate_name)


def drive_connection_reads(tenant: RecordedTenant, connection_id: str) -> None:
    admin = tenant.admin
    admin.get(CONNECTIONS)
    first_page = admin.get(CONNECTIONS, params={"limit": 1}).json()
    admin.get(first_page["links"]["next"]["href"])
    for params in (
        {"sort": "-qName", "caseinsensitive": "true"},
        {"filter": 'qName eq "orders"'},
        {"dataName": "items"},
        {"spaceId": DATA_INTEGRATION_SPACE_ID, "includeQris": "true"},
        {"personal": "true", "noDatafiles": "true"},
        {"userId": ADMIN_USER_ID},
        {"limit": 0},
        {"filter": 'qName xx "orders"'},
    ):
        admin.get(CONNECTIONS, params=params)
    tenant.member.get(CONNECTIONS, params={"userId": ADMIN_USER_ID})
    tenant.anonymous.get(CONNECTIONS)

    admin.get(f"{CONNECTIONS}/{connection_id}")
    admin.get(f"{CONNECTIONS}/{connection_id}", params={"parseConnection": "true"})
    by_name = {"type": "connectionname", "spaceId": DATA_INTEGRATION_SPACE_ID}
    admin.get(f"{CONNECTIONS}/orders", params=by_name)
    admin.get(f"{CONNECTIONS}/not-a-uuid")
    admin.get(f"{CONNECTIONS}/{UNKNOWN_CONNECTION}")
    tenant.member.get(f"{CONNECTIONS}/{connection_id}")


def drive_connection_updates(
    tenant: RecordedTenant, connection_id: str, statement_id: str, finance_id: str
) -> None:
    admin, member = tenant.admin, tenant.member
    url = f"{CONNECTIONS}/{connection_id}"
    admin.patch(url, json=[{"op": "replace", "path": "/qName", "value": "orders-v2"}])
    rotation = [
        {"op": "replace", "path": "/connectionProperties/password", "Value": PASSWORD}
    ]
    admin.patch(url, json=rotation)
    admin.patch(url, json={"op": "replace", "path": "/qName", "value": "x"})
    admin.patch(
        url, json=[{"op": "replace", "path": "/qName", "value": "orders-examples"}]
    )
    admin.patch(
        f"{CONNECTIONS}/{UNKNOWN_CONNECTION}",
        json=[{"op": "replace", "path": "/qName", "value": "x"}],
    )
    member.patch(
        f"{CONNECTIONS}/{finance_id}",
        json=[{"op": "replace", "path": "/qName", "value": "x"}],
    )

    replacement = {
        "qID": statement_id,
        "qEngineObjectID": statement_id,
        "qName": "rest-feed-v2",
        "qType": "QvRestConnector.exe",
        "qConnectStatement": REST_STATEMENT,
    }
    admin.put(f"{CONNECTIONS}/{statement_id}", json=replacement)
    admin.put(f"{CONNECTIONS}/{statement_id}", json={"qName": "incomplete"})
    admin.put(f"{CONNECTIONS}/{UNKNOWN_CONNECTION}", json=replacement)
    other = create_rest_statement(admin, "rest-other")
    clash = {**replacement, "qID": other, "qEngineObjectID": other}
    admin.put(f"{CONNECTIONS}/{other}", json=clash)
    member.put(f"{CONNECTIONS}/{finance_id}", json=replacement)


def drive_connection_actions(
    tenant: RecordedTenant, connection_id: str, finance_id: str
) -> None:
    admin, member = tenant.admin, tenant.member
    duplicate = f"{CONNECTIONS}/actions/duplicate"
    admin.post(duplicate, json={"id": connection_id})
    admin.post(duplicate, json={"name": "no id"})
    admin.post(duplicate, json={"id": UNKNOWN_CONNECTION})
    admin.post(duplicate, json={"id": connection_id, "name": "orders-examples"})
    member.post(duplicate, json={"id": finance_id, "spaceId": FINANCE_DATA_SPACE_ID})

    update = f"{CONNECTIONS}/actions/update"
    move = {"id": finance_id, "spaceId": SHARED_SPACE_ID, "spaceType": "shared"}
    admin.post(update, json={"connections": [move, {"id": UNKNOWN_CONNECTION}]})
    admin.post(update, json={"connections": []})
    member.post(update, json={"connections": [move]})

    bulk_delete = f"{CONNECTIONS}/actions/delete"
    doomed = create_mysql(admin, "doomed", DATA_INTEGRATION_SPACE_ID)
    admin.post(bulk_delete, json={"connections": [{"id": doomed}, {"id": "bad"}]})
    admin.post(bulk_delete, json={"connections": []})
    member.post(bulk_delete, json={"connections": [{"id": connection_id}]})


def drive_connection_deletes(tenant: RecordedTenant, finance_id: str) -> None:
    admin = tenant.admin
    short_lived = create_mysql(admin, "short-lived", DATA_INTEGRATION_SPACE_ID)
    admin.delete(f"{CONNECTIONS}/{short_lived}")
    admin.delete(f"{CONNECTIONS}/{short_lived}")
    tenant.member.delete(f"{CONNECTIONS}/{finance_id}")


CONNECTION_CASES = {
    ("POST " + CONNECTIONS, 201),
    ("POST " + CONNECTIONS, 400),
    ("POST " + CONNECTIONS, 401),
    ("POST " + CONNECTIONS, 403),
    ("POST " + CONNECTIONS, 404),
    ("POST " + CONNECTIONS, 409),
    ("GET " + CONNECTIONS, 200),
    ("GET " + CONNECTIONS, 400),
    ("GET " + CONNECTIONS, 401),
    ("GET " + CONNECTIONS, 403),
    ("GET " + CONNECTION, 200),
    ("GET " + CONNECTION, 400),
    ("GET " + CONNECTION, 404),
    ("PATCH " + CONNECTION, 204),
    ("PATCH " + CONNECTION, 400),
    ("PATCH " + CONNECTION, 403),
    ("PATCH " + CONNECTION, 404),
    ("PATCH " + CONNECTION, 409),
    ("PUT " + CONNECTION, 204),
    ("PUT " + CONNECTION, 400),
    ("PUT " + CONNECTION, 403),
    ("PUT " + CONNECTION, 404),
    ("PUT " + CONNECTION, 409),
    ("DELETE " + CONNECTION, 204),
    ("DELETE " + CONNECTION, 403),
    ("DELETE " + CONNECTION, 404),
    (f"POST {CONNECTIONS}/actions/duplicate", 201),
    (f"POST {CONNECTIONS}/actions/duplicate", 400),
    (f"POST {CONNECTIONS}/actions/duplicate", 403),
    (f"POST {CONNECTIONS}/actions/duplicate", 404),
    (f"POST {CONNECTIONS}/actions/duplicate", 409),
    (f"POST {CONNECTIONS}/actions/update", 207),
    (f"POST {CONNECTIONS}/actions/update", 400),
    (f"POST {CONNECTIONS}/actions/update", 403),
    (f"POST {CONNECTIONS}/actions/delete", 207),
    (f"POST {CONNECTIONS}/actions/delete", 400),
    (f"POST {CONNECTIONS}/actions/delete", 403),
}


def test_data_connections_match_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    drive_connection_creates(tenant)
    connection_id = create_mysql(tenant.admin, "reads", DATA_INTEGRATION_SPACE_ID)
    statement_id = create_rest_statement(tenant.admin, "statement")
    finance_id = create_mysql(tenant.admin, "finance", FINANCE_DATA_SPACE_ID)
    drive_connection_reads(tenant, connection_id)
    drive_connection_updates(tenant, connection_id, statement_id, finance_id)
    drive_connection_actions(tenant, connection_id, finance_id)
    drive_connection_deletes(tenant, finance_id)

    report = checked(tenant, validator)
    assert report.violation_lines() == []
    assert CONNECTION_CASES - seen(report) == set()


# Data sources


DATA_SOURCE_CASES = {
    ("GET " + DATA_SOURCES, 200),
    ("GET " + DATA_SOURCES, 401),
    ("GET " + DATA_SOURCES, 404),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/api-specs", 200),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/api-specs", 404),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/gateways", 200),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/gateways", 404),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/settings", 200),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/settings", 404),
    (f"PUT {DATA_SOURCES}/{{dataSourceId}}/settings", 200),
    (f"PUT {DATA_SOURCES}/{{dataSourceId}}/settings", 400),
    (f"PUT {DATA_SOURCES}/{{dataSourceId}}/settings", 404),
}


def test_data_sources_match_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    admin = tenant.admin
    admin.get(DATA_SOURCES)
    admin.get(DATA_SOURCES, params={"detail": "true", "includeui": "true"})
    admin.get(DATA_SOURCES, params={"dataSourceId": "repsrc_mysql"})
    admin.get(DATA_SOURCES, params={"dataSourceId": "no_such_source"})
    tenant.anonymous.get(DATA_SOURCES)
    for data_source_id in CATALOG:
        admin.get(f"{DATA_SOURCES}/{data_source_id}/api-specs")
    admin.get(f"{DATA_SOURCES}/no_such_source/api-specs")
    admin.get(f"{DATA_SOURCES}/DG_mysql/gateways", params={"forceRefresh": "true"})
    admin.get(f"{DATA_SOURCES}/repsrc_mysql/gateways")

    settings = f"{DATA_SOURCES}/reptgt_qdis3/settings"
    admin.put(settings, json={"disabled": True})
    admin.get(DATA_SOURCES, params={"includeDisabled": "true"})
    admin.get(f"{DATA_SOURCES}/reptgt_qdis3/api-specs")
    admin.get(settings)
    admin.put(settings, json={"disabled": False})
    admin.put(settings, json={"disabled": "no"})
    admin.get(f"{DATA_SOURCES}/no_such_source/settings")
    admin.put(f"{DATA_SOURCES}/no_such_source/settings", json={"disabled": True})

    report = checked(tenant, validator)
    assert report.violation_lines() == []
    assert DATA_SOURCE_CASES - seen(report) == set()


def test_settings_change_by_member_matches_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    response = tenant.member.put(
        f"{DATA_SOURCES}/repsrc_mysql/settings", json={"disabled": True}
    )

    report = checked(tenant, validator)
    assert response.status_code != 200
    assert report.violation_lines() == []


def test_delete_invalid_id_matches_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    response = tenant.admin.delete(f"{CONNECTIONS}/not-a-uuid")

    report = checked(tenant, validator)
    assert response.status_code >= 400
    assert report.violation_lines() == []


# Spaces and users


SPACE_CASES = {
    ("GET /api/v1/spaces", 200),
    ("GET /api/v1/spaces", 400),
    ("GET /api/v1/spaces", 401),
    ("GET /api/v1/spaces/types", 200),
    ("GET /api/v1/spaces/{spaceId}", 200),
    ("GET /api/v1/spaces/{spaceId}", 404),
    ("POST /api/v1/spaces", 201),
    ("POST /api/v1/spaces", 400),
    ("POST /api/v1/spaces", 403),
    ("POST /api/v1/spaces", 409),
}


def test_spaces_match_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    admin = tenant.admin
    admin.get("/api/v1/spaces")
    first_page = admin.get("/api/v1/spaces", params={"limit": 1}).json()
    admin.get(first_page["links"]["next"]["href"])
    admin.get("/api/v1/spaces", params={"sort": "-name", "type": "data"})
    admin.get("/api/v1/spaces", params={"roles": "facilitator,producer"})
    admin.get("/api/v1/spaces", params={"sort": "colour"})
    tenant.anonymous.get("/api/v1/spaces")
    admin.get("/api/v1/spaces/types")
    admin.get(f"/api/v1/spaces/{SHARED_SPACE_ID}")
    admin.get(f"/api/v1/spaces/{UNKNOWN_SPACE}")

    new_space = {
        "name": "Contract Space",
        "type": "shared",
        "description": "made by a test",
    }
    admin.post("/api/v1/spaces", json=new_space)
    admin.post("/api/v1/spaces", json=new_space)
    admin.post("/api/v1/spaces", json={"name": "bad/name", "type": "shared"})
    tenant.member.post("/api/v1/spaces", json={"name": "Member Space", "type": "data"})

    report = checked(tenant, validator)
    assert report.violation_lines() == []
    assert SPACE_CASES - seen(report) == set()


USER_CASES = {
    ("GET /api/v1/users/me", 301),
    ("GET /api/v1/users/me", 401),
    ("GET /api/v1/users/{userId}", 200),
    ("GET /api/v1/users/{userId}", 401),
    ("GET /api/v1/users/{userId}", 403),
    ("GET /api/v1/users/{userId}", 404),
}


def test_users_match_spec(tenant: RecordedTenant, validator: ContractValidator) -> None:
    admin = tenant.admin
    admin.get("/api/v1/users/me")
    admin.get("/api/v1/users/me", params={"fields": "name,assignedRoles"})
    admin.get(f"/api/v1/users/{ADMIN_USER_ID}")
    admin.get(f"/api/v1/users/{ADMIN_USER_ID}", params={"fields": "name"})
    admin.get("/api/v1/users/no-such-user")
    tenant.member.get(f"/api/v1/users/{ADMIN_USER_ID}")
    tenant.anonymous.get("/api/v1/users/me")
    tenant.anonymous.get(f"/api/v1/users/{ADMIN_USER_ID}")

    report = checked(tenant, validator)
    assert report.violation_lines() == []
    assert USER_CASES - seen(report) == set()


# OAuth, tenants and the control API


TOKEN_CASES = {
    ("POST /oauth/token", 200),
    ("POST /oauth/token", 400),
    ("POST /oauth/token", 401),
}


def test_oauth_token_matches_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    grant = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    client = tenant.anonymous
    client.post("/oauth/token", json=grant)
    client.post("/oauth/token", data=grant)
    client.post("/oauth/token", json={**grant, "scope": "user_default"})
    client.post("/oauth/token", json={**grant, "scope": "no_such_scope"})
    client.post("/oauth/token", json={**grant, "client_secret": "CANARY-wrong-secret"})
    client.post("/oauth/token", json={"grant_type": "password"})
    client.post("/oauth/token", json={"client_id": CLIENT_ID})
    client.post(
        "/oauth/token",
        content=b"not json",
        headers={"Content-Type": "application/json"},
    )

    report = checked(tenant, validator)
    assert report.violation_lines() == []
    assert TOKEN_CASES - seen(report) == set()


def test_unspecified_paths_stay_unchecked(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    tenant.admin.get("/api/v1/tenants/me", follow_redirects=True)
    tenant.admin.get("/_emulator/requests")

    report = checked(tenant, validator)
    reasons = report.unchecked_reasons()
    assert report.checked == 0
    assert reasons["no tenants spec is part of the reference set"] == 2
    assert reasons["the emulator's control API is not part of Qlik's API"] == 1


# Rate limits and faults


RATE_LIMIT_CASES = {
    ("GET " + CONNECTIONS, 429),
    ("POST " + CONNECTIONS, 429),
    ("GET " + DATA_SOURCES, 429),
    ("GET /api/v1/spaces", 429),
    ("GET /api/v1/spaces/{spaceId}", 429),
    ("GET /api/v1/users/me", 429),
    ("GET /api/v1/users/{userId}", 429),
    ("POST /oauth/token", 429),
}


@pytest.fixture
def limited_tenant() -> Iterator[RecordedTenant]:
    yield from recorded_tenant(
        _config(RateLimits(read_per_minute=1, write_per_minute=1))
    )


def test_rate_limited_answers_match_spec(
    limited_tenant: RecordedTenant, validator: ContractValidator
) -> None:
    admin = limited_tenant.admin
    for _ in range(2):
        admin.get(CONNECTIONS)
        create_body = {"qName": "limited", "space": SHARED_SPACE_ID}
        admin.post(CONNECTIONS, json=create_body)
    admin.get(DATA_SOURCES)
    admin.get("/api/v1/spaces")
    admin.get(f"/api/v1/spaces/{SHARED_SPACE_ID}")
    admin.get("/api/v1/users/me")
    admin.get(f"/api/v1/users/{ADMIN_USER_ID}")
    grant = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    for _ in range(2):
        limited_tenant.anonymous.post("/oauth/token", json=grant)

    report = checked(limited_tenant, validator)
    assert report.violation_lines() == []
    assert RATE_LIMIT_CASES - seen(report) == set()


def test_fault_answers_are_classified(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    emulator = tenant.served.emulator
    emulator.add_fault(
        FaultRule(kind="latency", seconds=0.01, path_prefix=DATA_SOURCES)
    )
    tenant.admin.get(DATA_SOURCES)
    emulator.add_fault(FaultRule(kind="status", status=503, path_prefix=DATA_SOURCES))
    tenant.admin.get(DATA_SOURCES)
    emulator.add_fault(FaultRule(kind="drop", path_prefix=DATA_SOURCES))
    with pytest.raises(httpx.TransportError):
        tenant.admin.get(DATA_SOURCES)

    assert tenant.log.wait_for(3, timeout=5)
    report = checked(tenant, validator)
    reasons = report.unchecked_reasons()
    assert report.violation_lines() == []
    assert report.checked == 1
    assert reasons["the status was injected by a fault rule"] == 1
    assert reasons["a fault rule dropped the connection"] == 1


# The library's own requests


def drive_library(client: QlikClient) -> None:
    created = client.connections.create(
        name="library-orders",
        data_source_id="repsrc_mysql",
        connection_properties=MYSQL_PROPERTIES,
        space_id=DATA_INTEGRATION_SPACE_ID,
        tags=["contract"],
    )
    list(client.connections.list(limit=1))
    client.connections.get(created.id, parse_connection=True)
    client.connections.get_by_name("library-orders", space_id=DATA_INTEGRATION_SPACE_ID)
    client.connections.patch(
        created.id,
        [
            {
                "op": "replace",
                "path": "/connectionProperties/password",
                "value": PASSWORD,
            }
        ],
    )
    client.connections.delete(created.id)
    client.connections.delete(created.id, missing_ok=True)

    client.data_sources.list()
    client.data_sources.list(data_source_id="repsrc_mysql")
    client.data_sources.api_specs("repsrc_mysql")
    client.data_sources.gateways("DG_mysql")
    list(client.spaces.list(type="data"))
    client.spaces.resolve("Data Integration")
    client.spaces.get(SHARED_SPACE_ID)
    client.users.me()
    client.tenants.me()


LIBRARY_CASES = {
    ("POST " + CONNECTIONS, 201),
    ("GET " + CONNECTIONS, 200),
    ("GET " + CONNECTION, 200),
    ("PATCH " + CONNECTION, 204),
    ("DELETE " + CONNECTION, 204),
    ("DELETE " + CONNECTION, 404),
    ("GET " + DATA_SOURCES, 200),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/api-specs", 200),
    (f"GET {DATA_SOURCES}/{{dataSourceId}}/gateways", 200),
    ("GET /api/v1/spaces", 200),
    ("GET /api/v1/spaces/{spaceId}", 200),
    ("GET /api/v1/users/me", 301),
    ("GET /api/v1/users/{userId}", 200),
}


def test_library_requests_match_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    address = Tenant.parse(tenant.served.url)
    with QlikClient(address, ApiKeyAuth(address, Secret(ADMIN_KEY))) as client:
        drive_library(client)

    report = checked(tenant, validator)
    assert report.violation_lines() == []
    assert LIBRARY_CASES - seen(report) == set()


def test_library_limit_above_maximum_matches_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    address = Tenant.parse(tenant.served.url)
    with QlikClient(address, ApiKeyAuth(address, Secret(ADMIN_KEY))) as client:
        with pytest.raises(QtcError):
            list(client.connections.list(limit=101))

    report = checked(tenant, validator)
    assert report.violation_lines() == []


def test_library_oauth_requests_match_spec(
    tenant: RecordedTenant, validator: ContractValidator
) -> None:
    address = Tenant.parse(tenant.served.url)
    auth = OAuthClientCredentials(address, CLIENT_ID, Secret(CLIENT_SECRET))
    with QlikClient(address, auth) as client:
        client.data_sources.list()
    wrong = OAuthClientCredentials(address, CLIENT_ID, Secret("CANARY-not-the-secret"))
    with QlikClient(address, wrong) as client, pytest.raises(QtcError):
        client.data_sources.list()

    report = checked(tenant, validator)
    assert report.violation_lines() == []
    assert {("POST /oauth/token", 200), ("POST /oauth/token", 401)} - seen(
        report
    ) == set()
