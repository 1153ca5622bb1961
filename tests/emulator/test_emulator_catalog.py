"""The data-sources API: catalog, api-specs, gateways and settings."""

from __future__ import annotations

import pytest

DI_SOURCES = [
    "repsrc_mysql",
    "reptgt_qdimysql",
    "repsrc_mssql",
    "reptgt_mssqltarget",
    "repsrc_postgresql",
    "reptgt_qdipostgresql",
    "repsrc_oracle",
    "reptgt_qdioracle",
    "reptgt_qdisnowflake",
    "reptgt_qdidatabricks",
    "reptgt_qdibigquery",
    "reptgt_qdiadls",
    "reptgt_qdis3",
    "reptgt_qdigooglecloudstorage",
]
GATEWAY_KINDS = [
    "repsrc_mysql",
    "reptgt_qdimysql",
    "repsrc_mssql",
    "reptgt_mssqltarget",
    "repsrc_postgresql",
    "reptgt_qdipostgresql",
    "repsrc_oracle",
    "reptgt_qdioracle",
    "reptgt_qdiadls",
    "reptgt_qdis3",
    "reptgt_qdigooglecloudstorage",
]


def _specs(client, data_source_id):
    response = client.get(f"/api/v1/data-sources/{data_source_id}/api-specs")
    assert response.status_code == 200, response.text
    return response.json()


def test_list_holds_every_source(admin):
    response = admin.get("/api/v1/data-sources")

    body = response.json()
    ids = {source["dataSourceId"] for source in body["dataSources"]}
    assert set(DI_SOURCES) <= ids
    assert "File_AmazonS3ConnectorV2" in ids
    assert {"DG_mysql", "DG_mssql", "DG_postgres"} <= ids
    assert body["lastUpdated"].endswith("Z")


def test_list_entry_has_required_fields(admin):
    response = admin.get(
        "/api/v1/data-sources", params={"dataSourceId": "reptgt_qdis3"}
    )

    (entry,) = response.json()["dataSources"]
    assert entry["provider"] == "QlikConnectorsCommonService.exe"
    assert entry["name"]
    assert entry["providerName"]
    assert entry["qriDefinition"]["qriPrefix"] == "qri:file:s3://"
    assert "uiInfo" not in entry


def test_list_last_repeated_id_wins(admin):
    response = admin.get(
        "/api/v1/data-sources?dataSourceId=repsrc_mysql&dataSourceId=repsrc_oracle"
    )

    assert [s["dataSourceId"] for s in response.json()["dataSources"]] == [
        "repsrc_oracle"
    ]


def test_list_unknown_id_404(admin):
    response = admin.get("/api/v1/data-sources", params={"dataSourceId": "nosuch"})

    assert response.status_code == 404
    error = response.json()["errors"][0]
    assert "status" not in error
    assert error["detail"]


def test_list_detail_and_ui_flags(admin):
    response = admin.get(
        "/api/v1/data-sources", params={"detail": "true", "includeui": "true"}
    )

    body = response.json()
    assert body["connectorNodes"][0]["state"] == "READY"
    assert "connectUrl" in body["dataSources"][0]["uiInfo"]


def test_api_specs_shape(admin):
    spec = _specs(admin, "repsrc_mysql")

    assert spec["connectorProvider"] == "QlikConnectorsCommonService.exe"
    assert spec["connectorVersion"] == "1.202.0"
    properties = spec["connectionProperties"]
    assert properties["type"] == "object"
    assert properties["properties"]["port"] == {
        "type": "string",
        "description": "TCP port of the database server.",
        "default": "3306",
    }
    assert properties["properties"]["sshEnable"]["type"] == "boolean"
    assert properties["properties"]["password"]["writeOnly"] is True
    assert "PREFER" in properties["properties"]["sslMode"]["enum"]
    assert set(properties["required"]) == {"agentId", "server", "username", "password"}


@pytest.mark.parametrize("data_source_id", GATEWAY_KINDS)
def test_gateway_kinds_require_agent_id(admin, data_source_id):
    spec = _specs(admin, data_source_id)

    assert "agentId" in spec["connectionProperties"]["required"]


@pytest.mark.parametrize(
    ("data_source_id", "file_property"),
    [
        ("reptgt_qdisnowflake", "privateKeyFile"),
        ("reptgt_qdibigquery", "jsonCredentials"),
        ("reptgt_qdigooglecloudstorage", "jsonCredentials"),
    ],
)
def test_file_property_schema(admin, data_source_id, file_property):
    spec = _specs(admin, data_source_id)["connectionProperties"]

    schema = spec["properties"][file_property]
    assert file_property in spec["required"]
    assert schema["type"] == "array"
    assert schema["writeOnly"] is True
    assert schema["items"]["required"] == ["name", "value"]
    assert schema["items"]["properties"]["value"]["contentEncoding"] == "base64"


def test_snowflake_spec_details(admin):
    properties = _specs(admin, "reptgt_qdisnowflake")["connectionProperties"][
        "properties"
    ]

    assert properties["authentication_mode"]["enum"] == ["KEY_PAIR"]
    assert properties["privateKeyPassphrase"]["writeOnly"] is True
    assert properties["databaseManualInput"]["default"] is True


def test_databricks_spec_details(admin):
    spec = _specs(admin, "reptgt_qdidatabricks")["connectionProperties"]

    assert spec["properties"]["authenticationMode"]["enum"] == ["PERSONAL_ACCESS_TOKEN"]
    assert "password" in spec["required"]


def test_analytics_s3_spec(admin):
    spec = _specs(admin, "File_AmazonS3ConnectorV2")

    assert spec["connectorProvider"] == "QvWebStorageProviderConnectorPackage.exe"
    region = spec["connectionProperties"]["properties"]["region"]
    assert region["default"] == "us-east-1"
    assert "eu-west-1" in region["enum"]


def test_api_specs_unknown_404(admin):
    response = admin.get("/api/v1/data-sources/nosuch/api-specs")

    assert response.status_code == 404


def test_gateways_of_direct_access_source(admin):
    response = admin.get("/api/v1/data-sources/DG_mssql/gateways")

    body = response.json()
    assert response.status_code == 200
    assert "::" in body["gateways"][0]["id"]
    assert [gateway["default"] for gateway in body["gateways"]] == [True, False]
    assert body["refreshedAt"].endswith("Z")


@pytest.mark.parametrize("data_source_id", ["repsrc_mysql", "nosuch"])
def test_gateways_of_other_sources_404(admin, data_source_id):
    response = admin.get(f"/api/v1/data-sources/{data_source_id}/gateways")

    assert response.status_code == 404


def test_disabled_source_hidden(admin):
    settings = "/api/v1/data-sources/reptgt_qdidatabricks/settings"
    put = admin.put(settings, json={"disabled": True})
    try:
        read_back = admin.get(settings).json()
        listed = admin.get("/api/v1/data-sources").json()["dataSources"]
        with_disabled = admin.get(
            "/api/v1/data-sources", params={"includeDisabled": "true"}
        )
        specs = admin.get("/api/v1/data-sources/reptgt_qdidatabricks/api-specs")
        filtered = admin.get(
            "/api/v1/data-sources", params={"dataSourceId": "reptgt_qdidatabricks"}
        )
    finally:
        admin.put(settings, json={"disabled": False})

    assert put.json() == {"disabled": True}
    assert read_back == {"disabled": True}
    assert "reptgt_qdidatabricks" not in {s["dataSourceId"] for s in listed}
    assert "reptgt_qdidatabricks" in {
        s["dataSourceId"] for s in with_disabled.json()["dataSources"]
    }
    assert specs.status_code == 404
    assert specs.json()["errors"][0]["code"] == "DCAAS-2001"
    assert filtered.status_code == 404


def test_settings_put_needs_admin(member):
    response = member.put(
        "/api/v1/data-sources/repsrc_mysql/settings", json={"disabled": True}
    )

    assert response.status_code == 403


@pytest.mark.parametrize("body", [{}, {"disabled": "yes"}])
def test_settings_put_bad_body(admin, body):
    response = admin.put("/api/v1/data-sources/repsrc_mysql/settings", json=body)

    assert response.status_code == 400


def test_settings_unknown_source_404(admin):
    response = admin.get("/api/v1/data-sources/nosuch/settings")

    assert response.status_code == 404
