import json
import re

import pytest

from qtc_connections.catalog import (
    GATEWAY_PROPERTY,
    PEM_KEY_FILE_NAME,
    QLIK_MANAGED_GATEWAY,
    SERVICE_ACCOUNT_FILE_NAME,
    DataSourceSpec,
    FileProperty,
    GatewayRule,
    KeyFileType,
    Kind,
    KindRegistry,
    Role,
    get_kind,
    kind_for_data_source,
    list_kinds,
    raw_kind,
)
from qtc_connections.errors import InputError

EXPECTED_KINDS = {
    "mysql-source": ("repsrc_mysql", GatewayRule.DATA_MOVEMENT),
    "mysql-target": ("reptgt_qdimysql", GatewayRule.DATA_MOVEMENT),
    "sqlserver-source": ("repsrc_mssql", GatewayRule.DATA_MOVEMENT),
    "sqlserver-target": ("reptgt_mssqltarget", GatewayRule.DATA_MOVEMENT),
    "postgresql-source": ("repsrc_postgresql", GatewayRule.DATA_MOVEMENT),
    "postgresql-target": ("reptgt_qdipostgresql", GatewayRule.DATA_MOVEMENT),
    "oracle-source": ("repsrc_oracle", GatewayRule.DATA_MOVEMENT),
    "oracle-target": ("reptgt_qdioracle", GatewayRule.DATA_MOVEMENT),
    "snowflake-target": ("reptgt_qdisnowflake", GatewayRule.NONE),
    "databricks-target": ("reptgt_qdidatabricks", GatewayRule.NONE),
    "bigquery-target": ("reptgt_qdibigquery", GatewayRule.NONE),
    "adls-target": ("reptgt_qdiadls", GatewayRule.QLIK_MANAGED),
    "s3-target": ("reptgt_qdis3", GatewayRule.QLIK_MANAGED),
    "gcs-target": ("reptgt_qdigooglecloudstorage", GatewayRule.QLIK_MANAGED),
}

ALL_KINDS = list_kinds()


def _kind(**overrides):
    fields = {
        "name": "example-source",
        "title": "Example source",
        "data_source_id": "repsrc_example",
        "role": Role.SOURCE,
        "gateway": GatewayRule.NONE,
    }
    fields.update(overrides)
    return Kind(**fields)


def test_catalog_lists_fourteen_kinds():
    assert [kind.name for kind in ALL_KINDS] == list(EXPECTED_KINDS)


@pytest.mark.parametrize(("name", "expected"), EXPECTED_KINDS.items())
def test_kind_data_source_and_gateway(name, expected):
    data_source_id, gateway = expected
    kind = get_kind(name)

    assert kind.data_source_id == data_source_id
    assert kind.gateway is gateway


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.name)
def test_kind_role_matches_prefix(kind):
    expected = Role.SOURCE if kind.data_source_id.startswith("repsrc_") else Role.TARGET
    assert kind.role is expected
    assert kind.name.endswith(f"-{expected.value}")


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.name)
def test_kind_defaults_typed_as_examples(kind):
    for name, value in kind.defaults.items():
        assert isinstance(value, str | bool), name
    if "port" in kind.defaults:
        assert re.fullmatch(r"[0-9]+", str(kind.defaults["port"]))
        assert isinstance(kind.defaults["port"], str)


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.name)
def test_kind_has_credentials_and_reference(kind):
    assert kind.credential_properties
    assert kind.reference.startswith("https://qlik.dev/")
    assert kind.title


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.name)
def test_kind_dict_round_trips_json(kind):
    described = json.loads(json.dumps(kind.to_dict()))

    assert described["name"] == kind.name
    assert described["data_source_id"] == kind.data_source_id
    assert described["gateway"] == kind.gateway.value
    assert described["gateway_property"] == GATEWAY_PROPERTY
    assert described["defaults"] == dict(kind.defaults)
    assert described["secrets"] == list(kind.secrets)
    assert set(described["files"]) == set(kind.files)


def test_snowflake_key_file_property():
    kind = get_kind("snowflake-target")
    key_file = kind.files["privateKeyFile"]

    assert key_file.file_type is KeyFileType.PEM_PRIVATE_KEY
    assert key_file.default_file_name == PEM_KEY_FILE_NAME == "snowflake_rsa_key.p8"
    assert key_file.passphrase_property == "privateKeyPassphrase"
    assert "privateKeyPassphrase" in kind.secrets
    assert kind.defaults["authentication_mode"] == "KEY_PAIR"


@pytest.mark.parametrize("name", ["bigquery-target", "gcs-target"])
def test_google_kinds_take_service_account(name):
    key_file = get_kind(name).files["jsonCredentials"]

    assert key_file.file_type is KeyFileType.SERVICE_ACCOUNT_JSON
    assert key_file.default_file_name == SERVICE_ACCOUNT_FILE_NAME
    assert key_file.passphrase_property is None


def test_s3_access_key_is_secret():
    kind = get_kind("s3-target")

    assert "s3AccessKey" not in kind.required
    assert kind.secrets == ("s3AccessKey", "s3SecretKey")


def test_postgresql_target_uses_host():
    kind = get_kind("postgresql-target")

    assert "host" in kind.required
    assert "server" not in kind.required


def test_qlik_managed_literal_value():
    assert QLIK_MANAGED_GATEWAY == "$$qlikManagedGateway$$"


def test_kind_mappings_are_read_only():
    kind = get_kind("mysql-source")

    with pytest.raises(TypeError):
        kind.defaults["port"] = "1"  # type: ignore[index]
    with pytest.raises(TypeError):
        kind.files["x"] = FileProperty(KeyFileType.UNCHECKED)  # type: ignore[index]


def test_kind_is_hashable_and_comparable():
    first = raw_kind("repsrc_db2luw")
    second = raw_kind("repsrc_db2luw")

    assert first == second
    assert hash(first) == hash(second)


@pytest.mark.parametrize(
    "overrides",
    [
        {"required": ("password",), "secrets": ("password",)},
        {"defaults": {"port": "1"}, "required": ("port",)},
        {"secrets": ("key",), "files": {"key": FileProperty(KeyFileType.UNCHECKED)}},
        {"required": (GATEWAY_PROPERTY,)},
        {
            "files": {
                "key": FileProperty(
                    KeyFileType.PEM_PRIVATE_KEY, passphrase_property="phrase"
                )
            }
        },
    ],
    ids=[
        "required-and-secret",
        "default-and-required",
        "secret-and-file",
        "gateway-listed",
        "passphrase-not-secret",
    ],
)
def test_kind_rejects_inconsistent_lists(overrides):
    with pytest.raises(ValueError, match="kind example-source"):
        _kind(**overrides)


def test_registry_rejects_duplicate_name():
    registry = KindRegistry([_kind()])

    with pytest.raises(ValueError, match="already registered"):
        registry.register(_kind(data_source_id="repsrc_other"))


def test_registry_rejects_duplicate_data_source():
    registry = KindRegistry([_kind()])

    with pytest.raises(ValueError, match="by kind example-source"):
        registry.register(_kind(name="other-source"))


@pytest.mark.parametrize("name", ["MySQL-source", "mysql_source", "-mysql", "a--b"])
def test_registry_rejects_non_kebab_name(name):
    with pytest.raises(ValueError, match="kebab-case"):
        KindRegistry([_kind(name=name)])


def test_registry_iterates_in_order():
    registry = KindRegistry([_kind(), _kind(name="b-target", data_source_id="x")])

    assert registry.names() == ["example-source", "b-target"]
    assert len(registry) == 2
    assert "b-target" in registry


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("mysql-src", "mysql-source"),
        ("MYSQL-SOURCE", "mysql-source"),
        ("snowflake", "snowflake-target"),
        ("repsrc_mssql", "sqlserver-source"),
    ],
)
def test_get_kind_suggests_close_match(typed, suggested):
    with pytest.raises(InputError) as caught:
        get_kind(typed)

    message = str(caught.value)
    assert repr(typed) in message
    assert f"did you mean {suggested}" in message
    assert "qtc kinds list" in message


def test_get_kind_without_close_match():
    with pytest.raises(InputError) as caught:
        get_kind("zzzzzz")

    assert "did you mean" not in str(caught.value)
    assert "qtc kinds list" in str(caught.value)


def test_kind_for_data_source_finds_kind():
    assert kind_for_data_source("reptgt_qdis3") is get_kind("s3-target")


def test_kind_for_data_source_unknown_id():
    assert kind_for_data_source("repsrc_db2luw") is None


@pytest.mark.parametrize(
    ("data_source_id", "role"),
    [
        ("repsrc_db2luw", Role.SOURCE),
        ("reptgt_qdiredshift", Role.TARGET),
        ("File_AmazonS3ConnectorV2", None),
    ],
)
def test_raw_kind_is_bare(data_source_id, role):
    kind = raw_kind(data_source_id)

    assert kind.name == f"raw:{data_source_id}"
    assert kind.is_raw
    assert kind.role is role
    assert kind.gateway is GatewayRule.NONE
    assert dict(kind.defaults) == {}
    assert kind.required == ()
    assert kind.secrets == ()


def test_raw_kind_with_gateway():
    kind = raw_kind("repsrc_db2luw", gateway_id="gw-1")

    assert kind.gateway is GatewayRule.DATA_MOVEMENT


def test_raw_kind_reads_spec_credentials():
    spec = {
        "connectorProvider": "QlikConnectorsCommonService.exe",
        "connectorVersion": "1.0.0",
        "connectionProperties": {
            "type": "object",
            "properties": {
                "server": {"type": "string"},
                "password": {"type": "string", "writeOnly": True},
                "agentId": {"type": "string", "writeOnly": True},
                "certificate": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {}, "value": {}},
                    },
                },
            },
        },
    }
    kind = raw_kind("repsrc_db2luw", api_spec=spec)

    assert kind.secrets == ("password",)
    assert set(kind.files) == {"certificate"}
    assert kind.files["certificate"].file_type is KeyFileType.UNCHECKED
    assert kind.files["certificate"].default_file_name is None


def test_raw_kind_rejects_empty_id():
    with pytest.raises(InputError, match="data source id is empty"):
        raw_kind("  ")


def test_builtin_kind_is_not_raw():
    assert not get_kind("mysql-source").is_raw


def test_spec_reads_response_schema():
    spec = DataSourceSpec.from_api_spec(
        {
            "connectionProperties": {
                "type": "object",
                "properties": {
                    "region": {"type": "string", "default": "us-east-1"},
                    "secretKey": {"type": "string", "writeOnly": True},
                },
                "required": ["region"],
            }
        }
    )

    assert set(spec.properties) == {"region", "secretKey"}
    assert spec.required == {"region"}
    assert spec.secret_names == {"secretKey"}
    assert spec.defaulted_names == {"region"}
    assert spec.declares_properties


def test_spec_tolerates_missing_fields():
    spec = DataSourceSpec.from_api_spec(
        {"properties": {"bucketName": {}, "odd": True}, "required": "bucketName"}
    )

    assert set(spec.properties) == {"bucketName", "odd"}
    assert spec.required == frozenset()
    assert spec.schema_for("odd") == {}
    assert spec.schema_for("missing") is None


def test_spec_reads_json_string_schema():
    text = json.dumps({"properties": {"region": {"type": "string"}}})
    spec = DataSourceSpec.from_api_spec({"connectionProperties": text})

    assert set(spec.properties) == {"region"}


@pytest.mark.parametrize("schema", [["region"], "not json", 7])
def test_spec_rejects_non_object_schema(schema):
    with pytest.raises(InputError, match="no connectionProperties object"):
        DataSourceSpec.from_api_spec({"connectionProperties": schema})


def test_platform_name_suggests_its_kinds():
    with pytest.raises(InputError) as caught:
        get_kind("mysql")
    assert "did you mean mysql-source or mysql-target?" in str(caught.value)
