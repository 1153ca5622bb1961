"""Creating data connections: the 14 Data Integration kinds and every error."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from emulator_helpers import (
    b64,
    create_body,
    create_connection,
    error_detail,
    mysql_properties,
    unique,
)

from qtc_connections.emulator import EmulatorConfig, EmulatorServer

DB_CANARY = "CANARY-db-password-41d2"
KEY_CANARY = "CANARY-private-key-9a7e"
JSON_CANARY = '{"private_key": "CANARY-service-account-3c1f"}'
CLIENT_KEY_CANARY = "CANARY-adls-client-secret-77b0"
S3_CANARY = "CANARY-s3-secret-key-5e2a"
CANARIES = (DB_CANARY, b64(KEY_CANARY), b64(JSON_CANARY), CLIENT_KEY_CANARY, S3_CANARY)

GATEWAY = "gateway-dm-1"
MANAGED = "$$qlikManagedGateway$$"


def _database(**extra: Any) -> dict[str, Any]:
    base = {
        "agentId": GATEWAY,
        "server": "db.internal",
        "username": "etl",
        "password": DB_CANARY,
    }
    base.update(extra)
    return base


KIND_PROPERTIES: dict[str, dict[str, Any]] = {
    "repsrc_mysql": _database(
        port="3306",
        replicateEndpointType="mysql###None",
        sshEnable=False,
        sslMode="PREFER",
        eventsPollInterval="5",
    ),
    "reptgt_qdimysql": _database(
        port="3306", targetDbType="MULTIPLE_DATABASES", maxFileSize="32000"
    ),
    "repsrc_mssql": _database(
        database="sales",
        useEncryptedConnection=False,
        safeguardPolicy="RELY_ON_SQL_SERVER_REPLICATION_AGENT",
        TlogAccessMode="PreferTlog",
    ),
    "reptgt_mssqltarget": _database(
        AuthenticationModes="SQL_CREDENTIALS", suspendTableWithComputedColumn=True
    ),
    "repsrc_postgresql": _database(
        port="5432", database="app", sslMode="PREFER", captureDDLs=True
    ),
    "reptgt_qdipostgresql": {
        "agentId": GATEWAY,
        "host": "pg.internal",
        "port": "5432",
        "username": "etl",
        "password": DB_CANARY,
        "sslMode": "PREFER",
    },
    "repsrc_oracle": _database(server="//ora.internal:1521/ORCL", retryInterval="5"),
    "reptgt_qdioracle": _database(server="//ora.internal:1521/ORCL"),
    "reptgt_qdisnowflake": {
        "server": "acme.snowflakecomputing.com",
        "port": "443",
        "databaseManualInput": True,
        "databaseQcsString": "ANALYTICS",
        "warehouse": "LOAD_WH",
        "username": "LOADER",
        "authentication_mode": "KEY_PAIR",
        "privateKeyFile": [{"name": "snowflake_rsa_key.p8", "value": b64(KEY_CANARY)}],
        "privateKeyPassphrase": "CANARY-passphrase-11aa",
    },
    "reptgt_qdidatabricks": {
        "server": "adb-1.azuredatabricks.net",
        "port": "443",
        "httpPath": "/sql/1.0/warehouses/abc",
        "authenticationMode": "PERSONAL_ACCESS_TOKEN",
        "password": DB_CANARY,
    },
    "reptgt_qdibigquery": {
        "datasetLocation": "ASIA_SOUTHEAST1",
        "jsonCredentials": [
            {"name": "service-account.json", "value": b64(JSON_CANARY)}
        ],
    },
    "reptgt_qdiadls": {
        "agentId": MANAGED,
        "adlsLoginUrl": "https://login.microsoftonline.com/",
        "storageAccount": "lake",
        "fileSystem": "raw",
        "adlstenantid": "tenant-guid",
        "adlsclientappid": "app-guid",
        "adlsclientappkey": CLIENT_KEY_CANARY,
    },
    "reptgt_qdis3": {
        "agentId": MANAGED,
        "bucketName": "landing",
        "useAwsPrivateLink": False,
        "s3AccessKey": "AKIAEXAMPLE",
        "s3SecretKey": S3_CANARY,
    },
    "reptgt_qdigooglecloudstorage": {
        "agentId": MANAGED,
        "bucketName": "landing",
        "jsonCredentials": [{"name": "sa.json", "value": b64(JSON_CANARY)}],
    },
}


def _space(config: EmulatorConfig, name: str = "Data Integration") -> str:
    return config.space(name).space_id


def _assert_no_canary(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


@pytest.mark.parametrize("data_source_id", sorted(KIND_PROPERTIES))
def test_create_each_kind_succeeds(admin, config, data_source_id):
    body = create_body(
        _space(config),
        unique(data_source_id),
        data_source_id,
        KIND_PROPERTIES[data_source_id],
    )
    response = admin.post("/api/v1/data-connections", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["datasourceID"] == data_source_id
    assert created["qType"] == "QlikConnectorsCommonService.exe"
    statement = created["qConnectStatement"]
    assert statement.startswith(
        'CUSTOM CONNECT TO "provider=QlikConnectorsCommonService.exe;'
    )
    assert f"sourceType={data_source_id};" in statement
    _assert_no_canary(response.text)


def test_create_response_carries_documented_fields(admin, config, server):
    space_id = _space(config)
    created = create_connection(
        admin, create_body(space_id, properties=mysql_properties())
    )

    assert uuid.UUID(created["id"]).version == 4
    assert created["qID"] == created["id"]
    assert created["qEngineObjectID"] == created["id"]
    assert created["space"] == space_id
    assert created["tenant"] == config.tenant_id
    assert created["user"] == config.admin.user_id
    assert created["tags"] == ["DcaasAPI:QlikConnectorsCommonService.exe:1.202.0"]
    assert created["version"] == "V1"
    assert created["qLogOn"] == "1"
    assert created["qArchitecture"] == 0
    assert created["qSeparateCredentials"] is False
    assert uuid.UUID(created["qCredentialsID"])
    assert created["qri"].startswith("qri:db:mysql://")
    assert "update" in created["privileges"]
    assert created["created"] == created["updated"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["created"])
    assert created["links"]["self"]["href"] == (
        f"{server.url}/api/v1/data-connections/{created['id']}"
    )


def test_connect_statement_excludes_secrets(admin, config):
    created = create_connection(
        admin, create_body(_space(config), properties=mysql_properties())
    )

    statement = created["qConnectStatement"]
    assert "server=mysql.internal;" in statement
    assert "username=replicator;" in statement
    assert "password" not in statement


@pytest.mark.parametrize(
    "key", ["dataSourceId", "datasourceID", "DATASOURCEID", "datasourceid"]
)
def test_create_accepts_data_source_key_variants(admin, config, key):
    body = create_body(_space(config))
    body[key] = body.pop("dataSourceId")

    response = admin.post("/api/v1/data-connections", json=body)

    assert response.status_code == 201
    assert response.json()["datasourceID"] == "repsrc_mysql"


def test_create_without_space_goes_personal(admin):
    created = create_connection(admin, create_body(None))

    assert "space" not in created
    listed = admin.get("/api/v1/data-connections", params={"personal": "true"}).json()
    assert created["id"] in [item["id"] for item in listed["data"]]


def test_secret_stored_as_salted_digest(admin, config, server):
    created = create_connection(admin, create_body(_space(config)))
    emulator = server.emulator

    digest = emulator.secret_digest(created["id"], "password")
    assert digest is not None
    assert "CANARY-mysql-password" not in digest
    assert emulator.secret_matches(created["id"], "password", "CANARY-mysql-password")
    assert not emulator.secret_matches(created["id"], "password", "other")


def test_file_property_keeps_file_name(admin, config, server):
    body = create_body(
        _space(config),
        data_source_id="reptgt_qdibigquery",
        properties=KIND_PROPERTIES["reptgt_qdibigquery"],
    )
    created = create_connection(admin, body)

    store = server.emulator.store
    assert (
        store.secret_file_name(created["id"], "jsonCredentials")
        == "service-account.json"
    )
    assert store.secret_matches(created["id"], "jsonCredentials", b64(JSON_CANARY))


def test_create_from_connect_statement(admin, config):
    body = {
        "qName": unique("legacy"),
        "qConnectStatement": (
            'CUSTOM CONNECT TO "provider=QvOdbcConnectorPackage.exe;host=h;"'
        ),
        "qType": "QvOdbcConnectorPackage.exe",
        "datasourceID": "repsrc_mysql",
        "space": _space(config),
        "qPassword": DB_CANARY,
        "qLogOn": "0",
    }
    response = admin.post("/api/v1/data-connections", json=body)

    assert response.status_code == 201
    created = response.json()
    assert created["qType"] == "QvOdbcConnectorPackage.exe"
    assert created["qLogOn"] == "0"
    assert created["qConnectStatement"] == body["qConnectStatement"]
    _assert_no_canary(response.text)


def test_connect_statement_with_given_qid(admin, config):
    wanted = str(uuid.uuid4())
    body = {
        "qID": wanted,
        "qName": unique("legacy"),
        "qConnectStatement": 'CUSTOM CONNECT TO "provider=x;"',
        "qType": "x",
        "datasourceID": "repsrc_mysql",
    }
    first = admin.post("/api/v1/data-connections", json=body)
    again = admin.post(
        "/api/v1/data-connections", json=dict(body, qName=unique("legacy"))
    )

    assert first.json()["qID"] == wanted
    assert again.status_code == 409


def _create_error(admin: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    response = admin.post("/api/v1/data-connections", json=body)
    assert response.status_code == 400, response.text
    for item in response.json()["errors"]:
        assert item["code"].startswith("DCERROR-")
        assert item["status"] == 400
    _assert_no_canary(response.text)
    return response


def test_unknown_property_rejected(admin, config):
    body = create_body(
        _space(config), properties=mysql_properties(DB_CANARY, hostname="x")
    )

    response = _create_error(admin, body)

    assert "connectionProperties.hostname" in error_detail(response)


def test_wrong_json_type_rejected(admin, config):
    body = create_body(
        _space(config), properties=mysql_properties(DB_CANARY, port=3306)
    )

    response = _create_error(admin, body)

    assert (
        "connectionProperties.port must be a JSON string, not integer"
        in error_detail(response)
    )


def test_boolean_as_string_rejected(admin, config):
    body = create_body(
        _space(config), properties=mysql_properties(DB_CANARY, sshEnable="true")
    )

    response = _create_error(admin, body)

    assert "connectionProperties.sshEnable must be a JSON boolean" in error_detail(
        response
    )


def test_secret_of_wrong_type_not_echoed(admin, config):
    body = create_body(
        _space(config), properties=mysql_properties(password=[DB_CANARY])
    )

    response = _create_error(admin, body)

    assert "connectionProperties.password must be a JSON string" in error_detail(
        response
    )


def test_enum_case_mismatch_rejected(admin, config):
    body = create_body(
        _space(config), properties=mysql_properties(DB_CANARY, sslMode="prefer")
    )

    response = _create_error(admin, body)

    detail = error_detail(response)
    assert "connectionProperties.sslMode value 'prefer'" in detail
    assert "case-sensitive" in detail


def test_missing_required_property_rejected(admin, config):
    properties = mysql_properties(DB_CANARY)
    del properties["username"]

    response = _create_error(admin, create_body(_space(config), properties=properties))

    assert "connectionProperties.username is missing" in error_detail(response)


def test_every_problem_listed_once(admin, config):
    properties = {
        "agentId": GATEWAY,
        "server": "h",
        "bogus": True,
        "password": DB_CANARY,
    }

    response = _create_error(admin, create_body(_space(config), properties=properties))

    errors = response.json()["errors"]
    assert len(errors) == 2
    assert "bogus" in errors[0]["detail"]
    assert "username is missing" in errors[1]["detail"]


def test_empty_agent_id_rejected(admin, config):
    body = create_body(
        _space(config), properties=mysql_properties(DB_CANARY, agentId="")
    )

    response = _create_error(admin, body)

    assert "connectionProperties.agentId must not be empty" in error_detail(response)


def test_invalid_base64_file_rejected(admin, config):
    properties = dict(KIND_PROPERTIES["reptgt_qdibigquery"])
    properties["jsonCredentials"] = [{"name": "sa.json", "value": "not base64!"}]
    body = create_body(
        _space(config), data_source_id="reptgt_qdibigquery", properties=properties
    )

    response = _create_error(admin, body)

    assert "jsonCredentials[0].value is not valid base64" in error_detail(response)


def test_file_without_array_rejected(admin, config):
    properties = dict(KIND_PROPERTIES["reptgt_qdisnowflake"])
    properties["privateKeyFile"] = b64(KEY_CANARY)
    body = create_body(
        _space(config), data_source_id="reptgt_qdisnowflake", properties=properties
    )

    response = _create_error(admin, body)

    assert "privateKeyFile must be an array of one" in error_detail(response)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"qName": ""}, "qName is missing or empty"),
        ({"dataSourceId": None}, "datasourceID is missing"),
        ({"dataSourceId": "repsrc_nosuch"}, "data source 'repsrc_nosuch' not found"),
        ({"connectionProperties": ["a"]}, "connectionProperties must be an object"),
        ({"connectionProperties": None}, "connectionProperties must be an object"),
        ({"tags": "one"}, "tags must be an array of strings"),
        ({"space": 12}, "space must be a space id"),
    ],
)
def test_invalid_create_fields_rejected(admin, config, change, expected):
    body = create_body(_space(config))
    body.update(change)
    if body.get("dataSourceId") is None:
        body.pop("dataSourceId")

    response = _create_error(admin, body)

    assert expected in error_detail(response)


def test_body_without_properties_rejected(admin):
    response = admin.post("/api/v1/data-connections", json={"qName": "x"})

    assert response.status_code == 400
    assert "connectionProperties is missing" in error_detail(response)


def test_malformed_json_rejected(admin):
    response = admin.post(
        "/api/v1/data-connections",
        content=b'{"qName": ',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert "not valid JSON" in error_detail(response)


def test_member_cannot_create_in_consumer_space(member, config):
    body = create_body(
        _space(config, "Finance Data"), properties=mysql_properties(DB_CANARY)
    )

    response = member.post("/api/v1/data-connections", json=body)

    assert response.status_code == 403
    assert response.json()["errors"][0]["status"] == 403
    _assert_no_canary(response.text)


def test_member_cannot_create_in_invisible_space(member, config):
    body = create_body(_space(config, "Restricted Data"))

    response = member.post("/api/v1/data-connections", json=body)

    assert response.status_code == 403


def test_member_creates_in_shared_space(member, config):
    body = create_body(_space(config, "Analytics Shared"))

    response = member.post("/api/v1/data-connections", json=body)

    assert response.status_code == 201
    assert response.json()["user"] == config.member.user_id


def test_unknown_space_returns_404(admin):
    response = admin.post("/api/v1/data-connections", json=create_body("0" * 24))

    assert response.status_code == 404


def test_duplicate_name_in_space_conflicts(admin, config):
    name = unique("dup")
    create_connection(admin, create_body(_space(config), name))

    response = admin.post(
        "/api/v1/data-connections", json=create_body(_space(config), name)
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["status"] == 409


def test_same_name_in_other_space_allowed(admin, config):
    name = unique("twin")
    create_connection(admin, create_body(_space(config), name))

    response = admin.post(
        "/api/v1/data-connections",
        json=create_body(_space(config, "Finance Data"), name),
    )

    assert response.status_code == 201


def test_disabled_data_source_rejected(admin, config):
    settings = "/api/v1/data-sources/reptgt_qdioracle/settings"
    assert admin.put(settings, json={"disabled": True}).status_code == 200
    try:
        body = create_body(
            _space(config),
            data_source_id="reptgt_qdioracle",
            properties=KIND_PROPERTIES["reptgt_qdioracle"],
        )
        response = admin.post("/api/v1/data-connections", json=body)
    finally:
        admin.put(settings, json={"disabled": False})

    assert response.status_code == 400
    assert "is disabled" in error_detail(response)


def test_canaries_absent_from_journal(admin, config, server: EmulatorServer):
    body = create_body(_space(config), properties=mysql_properties(DB_CANARY))
    create_connection(admin, body)

    journal = admin.get("/_emulator/requests")

    assert journal.status_code == 200
    assert journal.json()["requests"]
    _assert_no_canary(journal.text)
