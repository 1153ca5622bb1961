"""Tests for importing Postman collections as manifests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qtc_connections.errors import InputError
from qtc_connections.manifest.loader import load_manifest
from qtc_connections.postman.import_command import import_command
from qtc_connections.postman.importer import (
    ImportResult,
    SkippedRequest,
    environment_variable_name,
    import_collection,
    render_manifest,
    write_manifest,
)

FIXTURES = Path(__file__).parent / "postman"
FLAT = FIXTURES / "flat-collection.json"
FOLDERS = FIXTURES / "folder-collection.json"
ENVIRONMENT = FIXTURES / "dev-environment.json"

# Literal secrets written into the fixtures; none may leave the importer.
CANARIES = (
    "canary-patch-pw-8X2q",
    "canary-literal-token-93Zk",
    "canary-broken-pw-41Lm",
    "canary-env-secret-55Kp",
)

FLAT_MANIFEST: dict[str, Any] = {
    "version": 1,
    "connections": [
        {
            "name": "SRC_MySQL_AutoGen_01",
            "kind": "mysql-source",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "server": "mysql.example.internal",
                "port": "3306",
                "username": "${rdbmsUsername}",
                "replicateEndpointType": "mysql###None",
                "sshEnable": False,
                "sslMode": "PREFER",
                "eventsPollInterval": "5",
            },
            "secrets": {"password": "env:RDBMS_PASSWORD"},
        },
        {
            "name": "TGT_MySQL_AutoGen_01",
            "kind": "mysql-target",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "server": "mysql.example.internal",
                "port": "3306",
                "username": "${rdbmsUsername}",
                "replicateEndpointType": "mysqltarget###None",
                "targetDbType": "MULTIPLE_DATABASES",
            },
            "secrets": {"password": "env:RDBMS_PASSWORD"},
        },
        {
            "name": "SRC_SQLServer_AutoGen_01",
            "kind": "sqlserver-source",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "server": "mssql.example.internal",
                "username": "${mssqlUsername}",
                "database": "sales",
                "useEncryptedConnection": False,
            },
            "secrets": {"password": "env:MSSQL_PASSWORD"},
        },
        {
            "name": "TGT_SQLServer_AutoGen_01",
            "kind": "sqlserver-target",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "server": "mssql.example.internal",
                "username": "${mssqlUsername}",
                "database": "warehouse",
            },
            "secrets": {"password": "env:MSSQL_PASSWORD"},
        },
        {
            "name": "SRC_Postgres_AutoGen_03",
            "kind": "postgresql-source",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "server": "pg.example.internal",
                "port": "5432",
                "username": "${rdbmsUsername}",
                "database": "sales",
            },
            "secrets": {"password": "env:RDBMS_PASSWORD"},
        },
        {
            "name": "TGT_Postgres_AutoGen_01",
            "kind": "postgresql-target",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "host": "pg.example.internal",
                "port": "5432",
                "username": "${mysqlUsername}",
                "database": "warehouse",
            },
            "secrets": {"password": "env:MYSQL_PASSWORD"},
        },
        {
            "name": "SRC_Oracle_AutoGen_01",
            "kind": "oracle-source",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "server": "//ora.example.internal:1521/ORCL",
                "username": "${rdbmsUsername}",
            },
            "secrets": {"password": "env:RDBMS_PASSWORD"},
        },
        {
            "name": "TGT_Oracle_AutoGen_01",
            "kind": "oracle-target",
            "space": "${spaceId}",
            "gateway": "${gatewayId}",
            "properties": {
                "server": "//ora.example.internal:1521/ORCL",
                "username": "${rdbmsUsername}",
            },
            "secrets": {"password": "env:RDBMS_PASSWORD"},
        },
        {
            "name": "TGT_ADLS_AutoGen_01",
            "kind": "adls-target",
            "space": "${spaceId}",
            "properties": {
                "adlsLoginUrl": "https://login.microsoftonline.com/",
                "storageAccount": "examplestorage",
                "fileSystem": "landing",
                "adlstenantid": "tenant-0001",
                "adlsclientappid": "${adlsclientappid}",
            },
            "secrets": {"adlsclientappkey": "env:ADLSCLIENTAPPKEY"},
        },
        {
            "name": "TGT_S3_AutoGen_02",
            "kind": "s3-target",
            "space": "${spaceId}",
            "properties": {"bucketName": "${s3bucketName}", "useAwsPrivateLink": False},
            "secrets": {
                "s3AccessKey": "env:S3ACCESS_KEY",
                "s3SecretKey": "env:S3SECRET_KEY",
            },
        },
        {
            "name": "TGT_SNOW_AutoGen_03",
            "kind": "snowflake-target",
            "space": "${spaceId}",
            "properties": {
                "server": "example.snowflakecomputing.com",
                "port": "443",
                "databaseManualInput": True,
                "databaseQcsString": "ANALYTICS",
                "warehouse": "LOAD_WH",
                "username": "LOADER",
                "authentication_mode": "KEY_PAIR",
            },
            "secrets": {"privateKeyPassphrase": "env:SNOWFLAKE_PASS_PHRASE"},
            "key_files": {
                "privateKeyFile": {
                    "path": "env:SNOWFLAKE_ENCODED_VALUE_PATH",
                    "file_name": "snowflake_rsa_key.p8",
                }
            },
        },
        {
            "name": "TGT_Databricks_AutoGen_01",
            "kind": "databricks-target",
            "space": "${spaceId}",
            "properties": {
                "server": "adb-1.azuredatabricks.net",
                "port": "443",
                "httpPath": "/sql/1.0/warehouses/abc",
                "authenticationMode": "PERSONAL_ACCESS_TOKEN",
            },
            "secrets": {"password": "env:DATABRICKS_TOKEN"},
        },
        {
            "name": "TGT_BIGQ_AutoGen_02",
            "kind": "bigquery-target",
            "space": "${spaceId}",
            "properties": {"datasetLocation": "ASIA_SOUTHEAST1"},
            "key_files": {
                "jsonCredentials": {
                    "path": "env:BIG_QUERY_ENCODED_VALUE_PATH",
                    "file_name": "my-service-account.json",
                }
            },
        },
        {
            "name": "TGT_GCS_AutoGen_01",
            "kind": "gcs-target",
            "space": "${spaceId}",
            "properties": {"bucketName": "example-bucket"},
            "key_files": {
                "jsonCredentials": {
                    "path": "env:BIG_QUERY_ENCODED_VALUE_PATH",
                    "file_name": "service-account.json",
                }
            },
        },
    ],
}

FLAT_SKIPPED_REASON_GET = "reads from the tenant; a manifest declares connections only"

FOLDER_MANIFEST: dict[str, Any] = {
    "version": 1,
    "variables": {"spaceId": "Data Integration", "team": "sales"},
    "connections": [
        {
            "name": "SRC_MySQL_${team}",
            "kind": "mysql-source",
            "space": "${spaceId}",
            "gateway": "gw-dev-01",
            "properties": {"server": "mysql.dev.internal", "username": "reader"},
            "secrets": {"password": "env:RDBMS_PASSWORD"},
        },
        {
            "name": "SRC_DB2_01",
            "data_source": "repsrc_db2luw",
            "space": "${spaceId}",
            "gateway": "gw-dev-01",
            "properties": {
                "server": "db2.example.internal",
                "username": "db2user",
                "port": "50000",
            },
            "secrets": {"password": "env:DB2_PASSWORD"},
        },
        {
            "name": "TGT_Databricks_01",
            "kind": "databricks-target",
            "space": "${spaceId}",
            "properties": {
                "server": "adb-2.azuredatabricks.net",
                "httpPath": "/sql/1.0/warehouses/xyz",
            },
            "secrets": {"password": "env:TGT_DATABRICKS_01_PASSWORD"},
        },
    ],
}

FOLDER_WARNINGS = [
    (
        "request 'Sources/Legacy/Create DB2 Source': data source repsrc_db2luw is not "
        "in the catalog; written as a data_source entry, whose secrets are guessed "
        "from property names"
    ),
    (
        "connection TGT_Databricks_01: password is a secret written as a literal in "
        "the collection; the value was left out and replaced by an env: reference, "
        "and it should be rotated if the collection was shared"
    ),
    "request 'Targets/Create Oracle Target' is disabled; skipped",
    (
        "request 'Create Broken MySQL': body is not valid JSON (line 4, column 64); "
        "skipped"
    ),
    (
        "variable token is used by 'Sources/Create MySQL Source', "
        "'Sources/Legacy/Create DB2 Source', 'Targets/Create Databricks Target', "
        "'Create Broken MySQL' but defined neither in the collection nor in the "
        "environment"
    ),
]


def _flat() -> ImportResult:
    return import_collection(FLAT)


def _folders() -> ImportResult:
    return import_collection(FOLDERS, environment_path=ENVIRONMENT)


def _set_key_file_paths(monkeypatch: pytest.MonkeyPatch, result: ImportResult) -> None:
    # The loader reads the path of an env: key file when it loads.
    for name in result.environment_variables:
        if name.endswith("_PATH"):
            monkeypatch.setenv(name, "keys/service-account.json")


def test_flat_collection_manifest_entries() -> None:
    assert _flat().manifest == FLAT_MANIFEST


def test_flat_collection_creates_all_kinds() -> None:
    kinds = {entry["kind"] for entry in _flat().manifest["connections"]}

    assert len(kinds) == 14


def test_flat_collection_skipped_requests() -> None:
    url = "https://{{hostname}}/api/v1/"
    patch_hint = (
        "of an existing connection; change the entry in the manifest and run "
        "qtc apply, or use qtc connections patch"
    )
    expected = [
        SkippedRequest(
            "List Connections", "GET", url + "data-connections", FLAT_SKIPPED_REASON_GET
        ),
        SkippedRequest(
            "Retrieve Connection Properties By Id",
            "GET",
            url + "data-connections/{{snowflakeConnectionId}}?parseConnection=true",
            FLAT_SKIPPED_REASON_GET,
        ),
        SkippedRequest(
            "List Data Sources", "GET", url + "data-sources", FLAT_SKIPPED_REASON_GET
        ),
        SkippedRequest(
            "Retrieve Data Source Properties",
            "GET",
            url + "data-sources/reptgt_qdisnowflake/api-specs",
            FLAT_SKIPPED_REASON_GET,
        ),
        SkippedRequest(
            "Update BigQuery Certificate",
            "PATCH",
            url + "data-connections/{{connectionId}}",
            f"PATCH changes /connectionProperties/jsonCredentials/value {patch_hint}",
        ),
        SkippedRequest(
            "Update Connection User and Pass",
            "PATCH",
            url + "data-connections/{{connectionId}}",
            "PATCH changes /connectionProperties/password, "
            f"/connectionProperties/username {patch_hint}",
        ),
    ]

    assert _flat().skipped == expected


def test_flat_collection_undefined_variables_warned() -> None:
    expected = [
        (
            "variable mysqlUsername is used by 'Create Postgres Target' but defined "
            "neither in the collection nor in the environment"
        ),
        (
            "variable mysqlPassword is used by 'Create Postgres Target' but defined "
            "neither in the collection nor in the environment"
        ),
    ]

    assert _flat().warnings == expected


def test_script_set_variable_counts_defined() -> None:
    # connectionId is set only by the create requests' test scripts.
    warnings = " ".join(_flat().warnings)

    assert "connectionId" not in warnings


def test_flat_collection_unresolved_variables() -> None:
    expected = [
        "adlsclientappid",
        "gatewayId",
        "mssqlUsername",
        "mysqlUsername",
        "rdbmsUsername",
        "s3bucketName",
        "spaceId",
    ]

    assert _flat().unresolved_variables == expected


def test_flat_collection_environment_references() -> None:
    expected = [
        "ADLSCLIENTAPPKEY",
        "BIG_QUERY_ENCODED_VALUE_PATH",
        "DATABRICKS_TOKEN",
        "MSSQL_PASSWORD",
        "MYSQL_PASSWORD",
        "RDBMS_PASSWORD",
        "S3ACCESS_KEY",
        "S3SECRET_KEY",
        "SNOWFLAKE_ENCODED_VALUE_PATH",
        "SNOWFLAKE_PASS_PHRASE",
    ]

    assert _flat().environment_variables == expected


def test_folder_collection_manifest_entries() -> None:
    assert _folders().manifest == FOLDER_MANIFEST


def test_folder_collection_warnings() -> None:
    assert _folders().warnings == FOLDER_WARNINGS


def test_non_json_body_skipped() -> None:
    expected = [
        SkippedRequest(
            "Create Broken MySQL",
            "POST",
            "https://{{hostname}}/api/v1/data-connections",
            "body is not valid JSON",
        )
    ]

    assert _folders().skipped == expected


def test_disabled_request_not_imported() -> None:
    names = [entry["name"] for entry in _folders().manifest["connections"]]

    assert "TGT_Oracle_Disabled" not in names


def test_environment_secret_never_inlined() -> None:
    entry = _folders().manifest["connections"][0]

    assert entry["secrets"] == {"password": "env:RDBMS_PASSWORD"}


def test_disabled_environment_value_ignored() -> None:
    # The environment disables its team value, so the collection's applies.
    variables = _folders().manifest["variables"]

    assert variables["team"] == "sales"


def test_flat_manifest_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _flat()
    path = tmp_path / "qtc.yaml"
    write_manifest(result, path)
    _set_key_file_paths(monkeypatch, result)

    values = {name: f"value-{name}" for name in result.unresolved_variables}
    manifest = load_manifest(path, variables=values)

    assert len(manifest.connections) == 14
    assert manifest.connections[0].space == "value-spaceId"
    assert manifest.connections[0].gateway_id == "value-gatewayId"
    assert manifest.connections[8].gateway_id is None


def test_folder_manifest_loads(tmp_path: Path) -> None:
    path = tmp_path / "qtc.yaml"
    write_manifest(_folders(), path)

    manifest = load_manifest(path)

    assert [c.name for c in manifest.connections] == [
        "SRC_MySQL_sales",
        "SRC_DB2_01",
        "TGT_Databricks_01",
    ]
    assert manifest.connections[0].space == "Data Integration"


def test_write_manifest_keeps_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "qtc.yaml"
    path.write_text("keep\n", encoding="utf-8")

    with pytest.raises(InputError):
        write_manifest(_flat(), path)
    assert path.read_text(encoding="utf-8") == "keep\n"


def test_rendered_manifest_keeps_string_ports() -> None:
    text = render_manifest(_flat())

    assert "port: '3306'" in text


def test_canary_secrets_absent_from_result(tmp_path: Path) -> None:
    path = tmp_path / "qtc.yaml"
    write_manifest(_folders(), path)
    texts = {
        "flat": json.dumps(_flat().to_dict()),
        "folders": json.dumps(_folders().to_dict()),
        "file": path.read_text(encoding="utf-8"),
    }

    for label, text in texts.items():
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into {label}"


@pytest.mark.parametrize("as_json", [False, True])
def test_command_output_hides_canaries(as_json: bool) -> None:
    arguments = [str(FOLDERS), "--environment", str(ENVIRONMENT)]
    if as_json:
        arguments.append("--json")

    outcome = CliRunner().invoke(import_command, arguments)

    assert outcome.exit_code == 0
    for canary in CANARIES:
        assert canary not in outcome.output
        assert canary not in outcome.stderr


def test_command_writes_out_file(tmp_path: Path) -> None:
    out = tmp_path / "qtc.yaml"

    outcome = CliRunner().invoke(import_command, [str(FLAT), "--out", str(out)])

    assert outcome.exit_code == 0
    assert out.read_text(encoding="utf-8") == render_manifest(_flat())
    assert "imported 14 connections to" in outcome.stderr
    assert "mysqlPassword" in outcome.stderr


def test_command_json_lists_skipped() -> None:
    outcome = CliRunner().invoke(import_command, [str(FLAT), "--json"])
    document = json.loads(outcome.stdout)

    assert document["manifest"] == FLAT_MANIFEST
    assert len(document["skipped"]) == 6
    assert document["out"] is None


@pytest.mark.parametrize(
    ("postman_name", "expected"),
    [
        ("mysqlPassword", "MYSQL_PASSWORD"),
        ("bigQueryEncodedValue", "BIG_QUERY_ENCODED_VALUE"),
        ("adlsclientappkey", "ADLSCLIENTAPPKEY"),
        ("s3-secret.key", "S3_SECRET_KEY"),
        ("1password", "_1PASSWORD"),
    ],
)
def test_environment_variable_name_rule(postman_name: str, expected: str) -> None:
    assert environment_variable_name(postman_name) == expected


def test_invalid_collection_json_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(InputError, match="is not valid JSON"):
        import_collection(path)


def test_environment_without_values_rejected(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"name": "dev"}), encoding="utf-8")

    with pytest.raises(InputError, match="not a Postman environment"):
        import_collection(FLAT, environment_path=path)


def test_data_source_key_any_casing(tmp_path: Path) -> None:
    collection = json.loads(FLAT.read_text(encoding="utf-8"))
    body = json.loads(collection["item"][4]["request"]["body"]["raw"])
    body["datasourceID"] = body.pop("dataSourceId")
    collection["item"] = [collection["item"][4]]
    collection["item"][0]["request"]["body"]["raw"] = json.dumps(body)
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(collection), encoding="utf-8")

    entries = import_collection(path).manifest["connections"]

    assert entries == [FLAT_MANIFEST["connections"][0]]


def test_import_writes_no_files(tmp_path: Path) -> None:
    # Importing reads the collection and never writes beside it.
    copy = tmp_path / "collection.json"
    shutil.copy(FLAT, copy)

    import_collection(copy)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["collection.json"]


def _single_create(tmp_path: Path, properties: dict[str, Any], **item: Any) -> Path:
    body = {
        "dataSourceId": "reptgt_qdibigquery",
        "qName": "TGT_BigQuery_Literal",
        "space": "Data Integration",
        "connectionProperties": properties,
    }
    request = {
        "method": "POST",
        "url": {"raw": "https://{{hostname}}/api/v1/data-connections"},
        "body": {"mode": "raw", "raw": json.dumps(body)},
    }
    folder: dict[str, Any] = {
        "name": "Folder",
        "item": [{"name": "Create", "request": request}],
        **item,
    }
    collection = {
        "info": {"name": "single"},
        "item": [folder],
        "variable": [{"key": "hostname", "value": "127.0.0.1"}],
    }
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def test_disabled_folder_skipped(tmp_path: Path) -> None:
    path = _single_create(tmp_path, {"datasetLocation": "EU"}, disabled=True)

    result = import_collection(path)

    assert result.manifest["connections"] == []
    assert result.warnings == ["folder 'Folder' is disabled; skipped"]


def test_literal_key_file_replaced(tmp_path: Path) -> None:
    canary = "Y2FuYXJ5LWtleS1maWxlLTc3Unc="
    files = [{"name": "sa.json", "value": canary}]
    path = _single_create(tmp_path, {"datasetLocation": "EU", "jsonCredentials": files})

    result = import_collection(path)
    entry = result.manifest["connections"][0]

    assert entry["key_files"] == {
        "jsonCredentials": {
            "path": "env:TGT_BIGQUERY_LITERAL_JSONCREDENTIALS_PATH",
            "file_name": "sa.json",
        }
    }
    assert canary not in json.dumps(result.to_dict())
    assert "jsonCredentials is a key file written as a literal" in result.warnings[0]


def test_environment_file_rejected_as_collection(tmp_path):
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"name": "dev", "values": []}))
    with pytest.raises(InputError) as caught:
        import_collection(path)
    assert "is not a Postman collection" in str(caught.value)


def test_deep_folders_skipped_with_warning(tmp_path):
    item: dict[str, object] = {"name": "leaf", "request": {"method": "GET", "url": "x"}}
    for level in range(80):
        item = {"name": f"f{level}", "item": [item]}
    path = tmp_path / "deep.json"
    path.write_text(json.dumps({"info": {"name": "deep"}, "item": [item]}))
    result = import_collection(path)
    assert any("nested more than 50 deep" in warning for warning in result.warnings)


def test_json_nested_too_deeply_rejected(tmp_path):
    path = tmp_path / "deeper.json"
    path.write_text('{"item": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(InputError) as caught:
        import_collection(path)
    assert "nested too deeply to read" in str(caught.value)
