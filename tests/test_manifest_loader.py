"""Loading valid manifests: files, folders, environments, overlays and variables."""

from pathlib import Path

import pytest

from qtc_connections.catalog import GatewayRule, list_kinds
from qtc_connections.manifest.loader import load_manifest
from qtc_connections.manifest.model import KeyFileSpec, Location
from qtc_connections.secrets import SecretSource

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "manifest" / "connections.yaml"
GOOD = Path(__file__).parent / "manifests" / "good"
FOLDER = GOOD / "folder"


def _by_name(manifest):
    return {connection.name: connection for connection in manifest.connections}


# The example manifest.


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_example_covers_every_kind(environment):
    manifest = load_manifest(EXAMPLE, environment=environment)

    kinds = [connection.kind.name for connection in manifest.connections]
    assert sorted(kinds) == sorted(kind.name for kind in list_kinds())
    assert len(kinds) == 14


def test_example_dev_uses_top_level_values():
    connections = _by_name(load_manifest(EXAMPLE, environment="dev"))

    assert connections["SRC_MySQL"].space == "Data Integration"
    assert connections["SRC_MySQL"].gateway_id == "demo-data-movement-gateway"
    assert connections["SRC_MySQL"].properties["server"] == "mysql.dev.demo.internal"
    assert connections["TGT_S3"].properties["bucketName"] == "qtc-demo-dev-landing"
    assert connections["TGT_Snowflake"].properties["warehouse"] == "LOAD_WH"


def test_example_prod_applies_overlays():
    connections = _by_name(load_manifest(EXAMPLE, environment="prod"))

    assert connections["SRC_MySQL"].space == "Finance Data"
    assert connections["SRC_MySQL"].gateway_id == "prod-data-movement-gateway"
    assert connections["SRC_MySQL"].tags == ("team-sales", "prod")
    assert connections["TGT_Snowflake"].properties["warehouse"] == "LOAD_WH_XL"
    assert (
        connections["TGT_Databricks"].properties["httpPath"]
        == "/sql/1.0/warehouses/prod0123456789"
    )
    assert connections["TGT_GCS"].properties["bucketName"] == "qtc-demo-prod-landing"


def test_example_gateway_only_where_used():
    manifest = load_manifest(EXAMPLE, environment="dev")

    for connection in manifest.connections:
        uses_gateway = connection.kind.gateway is GatewayRule.DATA_MOVEMENT
        assert (connection.gateway_id is not None) == uses_gateway, connection.name


def test_example_secrets_are_env_references():
    manifest = load_manifest(EXAMPLE, environment="dev")

    sources = {
        reference.source
        for connection in manifest.connections
        for reference in connection.secrets.values()
    }
    assert sources == {SecretSource.ENV}


def test_example_key_files_beside_manifest():
    connections = _by_name(load_manifest(EXAMPLE, environment="dev"))

    keys = EXAMPLE.parent / "keys"
    assert connections["TGT_Snowflake"].key_files["privateKeyFile"] == KeyFileSpec(
        keys / "snowflake_rsa_key.p8"
    )
    assert connections["TGT_GCS"].key_files["jsonCredentials"] == KeyFileSpec(
        keys / "service-account.json", "gcs-service-account.json"
    )


def test_example_key_dir_from_command_line(tmp_path):
    manifest = load_manifest(
        EXAMPLE, environment="dev", variables={"key_dir": str(tmp_path)}
    )

    spec = _by_name(manifest)["TGT_BigQuery"].key_files["jsonCredentials"]
    assert spec.path == tmp_path / "service-account.json"


# Folders and files.


def test_folder_reads_yaml_files_sorted():
    manifest = load_manifest(FOLDER)

    assert manifest.files == (
        FOLDER / "00-common.yaml",
        FOLDER / "10-sources.yaml",
        FOLDER / "20-targets.yml",
    )


def test_folder_merges_connections_in_order():
    manifest = load_manifest(FOLDER)

    names = [connection.name for connection in manifest.connections]
    assert names == ["SRC_MySQL", "SRC_DB2", "TGT_Snowflake"]


def test_folder_defaults_apply_across_files():
    connections = _by_name(load_manifest(FOLDER))

    assert connections["SRC_MySQL"].space == "Data Integration"
    assert connections["SRC_MySQL"].gateway_id == "gw-dev-01"
    assert connections["TGT_Snowflake"].gateway_id is None


def test_folder_environment_from_other_file():
    manifest = load_manifest(FOLDER, environment="prod")

    connections = _by_name(manifest)
    assert manifest.environment == "prod"
    assert connections["TGT_Snowflake"].space == "DI Production"
    assert connections["TGT_Snowflake"].properties["warehouse"] == "LOAD_WH_XL"
    assert connections["SRC_MySQL"].gateway_id == "gw-prod-01"


def test_secret_file_relative_to_manifest():
    reference = _by_name(load_manifest(FOLDER))["SRC_MySQL"].secrets["password"]

    assert reference.source is SecretSource.FILE
    assert reference.path == FOLDER / "secrets" / "mysql-password.txt"


def test_key_file_relative_to_manifest(monkeypatch, tmp_path):
    # The working directory must not matter.
    monkeypatch.chdir(tmp_path)

    spec = _by_name(load_manifest(FOLDER))["TGT_Snowflake"].key_files["privateKeyFile"]

    assert spec == KeyFileSpec(FOLDER / "keys" / "snowflake_rsa_key.p8")


def test_data_source_outside_catalog_is_raw():
    connection = _by_name(load_manifest(FOLDER))["SRC_DB2"]

    assert connection.kind.name == "raw:repsrc_db2luw"
    assert connection.kind.gateway is GatewayRule.DATA_MOVEMENT
    assert connection.gateway_id == "gw-dev-01"


def test_data_source_in_catalog_uses_kind(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "connections:\n"
        "  - name: TGT_S3\n"
        "    data_source: reptgt_qdis3\n"
        "    space: Sales\n"
        "    properties: {bucketName: landing}\n"
    )

    connection = load_manifest(path).connections[0]

    assert connection.kind.name == "s3-target"
    assert connection.field_locations["data_source"] == Location(path, 4, 5)


def test_file_given_twice_read_once():
    manifest = load_manifest([FOLDER, FOLDER / "10-sources.yaml"])

    assert len(manifest.files) == 3
    assert len(manifest.connections) == 3


def test_single_path_string_accepted():
    manifest = load_manifest(str(GOOD / "overlays.yaml"))

    assert [connection.name for connection in manifest.connections] == [
        "SRC_MySQL",
        "TGT_BigQuery",
    ]


def test_byte_order_mark_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")

    assert load_manifest(path).connections == ()


# Variables.


def test_variables_substituted_in_every_field():
    connection = _by_name(load_manifest(GOOD / "variables.yaml", environment="dev"))[
        "SRC_MySQL_dev"
    ]

    assert connection.space == "DI dev"
    assert connection.gateway_id == "gw-dev-eu"
    assert connection.tags == ("team-sales", "cost-${center}")
    assert connection.properties["server"] == "mysql.eu.dev.internal"
    assert str(connection.secrets["password"]) == "env:MYSQL_PASSWORD_eu"


def test_variables_in_key_file_fields():
    connection = _by_name(load_manifest(GOOD / "variables.yaml", environment="dev"))[
        "TGT_BigQuery"
    ]

    assert connection.key_files["jsonCredentials"] == KeyFileSpec(
        GOOD / "keys" / "dev" / "service-account.json", "dev-credentials.json"
    )


def test_environment_variables_override_top_level():
    connections = _by_name(load_manifest(GOOD / "variables.yaml", environment="prod"))

    assert connections["SRC_MySQL_prod"].properties["server"] == "mysql.us.dev.internal"
    assert connections["SRC_MySQL_prod"].gateway_id == "gw-prod-us"


def test_command_line_variables_override_environment():
    manifest = load_manifest(
        GOOD / "variables.yaml", environment="prod", variables={"region": "ap"}
    )

    connection = _by_name(manifest)["SRC_MySQL_prod"]
    assert connection.properties["server"] == "mysql.ap.dev.internal"
    assert str(connection.secrets["password"]) == "env:MYSQL_PASSWORD_ap"


def test_variable_values_become_text():
    properties = _by_name(load_manifest(GOOD / "variables.yaml", environment="dev"))[
        "SRC_MySQL_dev"
    ].properties

    assert properties["port"] == "3306"
    assert properties["sslEnabled"] == "true"


def test_escape_writes_literal_dollar_brace():
    properties = _by_name(load_manifest(GOOD / "variables.yaml", environment="dev"))[
        "SRC_MySQL_dev"
    ].properties

    assert properties["note"] == "price: $$5, literal ${not_a_variable}"


def test_variables_inside_lists():
    properties = _by_name(load_manifest(GOOD / "variables.yaml", environment="dev"))[
        "SRC_MySQL_dev"
    ].properties

    assert properties["initStatements"] == ["SET time_zone = '+00:00'", "-- sales"]


def test_variable_used_as_whole_reference(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "variables:\n  password_ref: env:S3_SECRET\n"
        "connections:\n"
        "  - name: TGT_S3\n    kind: s3-target\n    space: Sales\n"
        "    properties: {bucketName: landing}\n"
        "    secrets: {s3SecretKey: '${password_ref}'}\n"
    )

    reference = load_manifest(path).connections[0].secrets["s3SecretKey"]

    assert reference.source is SecretSource.ENV
    assert reference.variable == "S3_SECRET"


# Overlays and defaults.


def test_without_environment_no_overlay():
    connections = _by_name(load_manifest(GOOD / "overlays.yaml"))

    assert connections["SRC_MySQL"].space == "Data Integration"
    assert connections["SRC_MySQL"].properties["server"] == "mysql.dev.internal"
    assert str(connections["SRC_MySQL"].secrets["password"]) == "env:MYSQL_PASSWORD"


def test_overlay_replaces_fields():
    connection = _by_name(load_manifest(GOOD / "overlays.yaml", environment="prod"))[
        "SRC_MySQL"
    ]

    assert connection.space == "DI Production"
    assert connection.gateway_id == "gw-prod-01"
    assert connection.tags == ("prod",)


def test_overlay_merges_properties_by_key():
    connection = _by_name(load_manifest(GOOD / "overlays.yaml", environment="prod"))[
        "SRC_MySQL"
    ]

    assert dict(connection.properties) == {
        "server": "mysql.prod.internal",
        "username": "qtc_reader",
    }
    assert str(connection.secrets["password"]) == "env:MYSQL_PROD_PASSWORD"


def test_overlay_key_file_expands_home():
    connection = _by_name(load_manifest(GOOD / "overlays.yaml", environment="prod"))[
        "TGT_BigQuery"
    ]

    spec = connection.key_files["jsonCredentials"]
    assert spec.path == Path.home() / "qtc" / "prod-service-account.json"


def test_defaults_tags_apply_unless_set():
    connections = _by_name(load_manifest(GOOD / "overlays.yaml"))

    assert connections["SRC_MySQL"].tags == ("dev",)
    assert connections["TGT_BigQuery"].tags == ("managed",)


def test_default_gateway_ignored_without_gateway():
    connections = _by_name(load_manifest(GOOD / "overlays.yaml"))

    assert connections["TGT_BigQuery"].gateway_id is None


# Locations and the remaining value forms.


def test_field_locations_point_at_keys():
    path = GOOD / "overlays.yaml"

    connection = _by_name(load_manifest(path))["SRC_MySQL"]

    assert connection.location == Location(path, 21, 5)
    assert connection.field_locations["name"] == Location(path, 21, 5)
    assert connection.field_locations["properties.server"] == Location(path, 25, 7)
    assert connection.field_locations["space"] == Location(path, 17, 3)
    assert connection.where("secrets.password") == f"{path}, line 28, column 7"


def test_overlay_field_locations_point_at_overlay():
    path = GOOD / "overlays.yaml"

    connection = _by_name(load_manifest(path, environment="prod"))["SRC_MySQL"]

    assert connection.field_locations["properties.server"] == Location(path, 10, 11)
    assert connection.field_locations["space"] == Location(path, 6, 9)


def test_yaml_merge_key_accepted(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "version: 1\n"
        "defaults: {space: Sales}\n"
        "connections:\n"
        "  - name: TGT_S3\n    kind: s3-target\n"
        "    properties: &bucket\n      bucketName: landing\n"
        "  - name: TGT_GCS\n    kind: gcs-target\n"
        "    properties:\n      <<: *bucket\n"
    )

    connection = _by_name(load_manifest(path))["TGT_GCS"]

    assert connection.properties["bucketName"] == "landing"
    # A merged key has no position of its own, so the mapping's is used.
    assert connection.field_locations["properties.bucketName"] == Location(path, 11, 7)


def test_key_file_path_from_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QTC_TEST_KEY_PATH", "keys/service-account.json")
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "connections:\n"
        "  - name: TGT_GCS\n    kind: gcs-target\n    space: Sales\n"
        "    properties: {bucketName: landing}\n"
        "    key_files: {jsonCredentials: 'env:QTC_TEST_KEY_PATH'}\n"
    )

    spec = load_manifest(path).connections[0].key_files["jsonCredentials"]

    assert spec.path == tmp_path / "keys" / "service-account.json"


def test_typed_property_values_kept(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "connections:\n"
        "  - name: SRC_DB2\n    data_source: repsrc_db2luw\n    space: Sales\n"
        "    properties:\n"
        "      port: 50000\n      ratio: 0.5\n      ssl: true\n"
        "      hosts: [a, b]\n      options: {retries: 3}\n"
    )

    properties = load_manifest(path).connections[0].properties

    assert dict(properties) == {
        "port": 50000,
        "ratio": 0.5,
        "ssl": True,
        "hosts": ["a", "b"],
        "options": {"retries": 3},
    }
    assert type(properties["port"]) is int
    assert type(properties["ssl"]) is bool
