import json

import pytest

from qtc_connections.catalog import QLIK_MANAGED_GATEWAY, get_kind, raw_kind
from qtc_connections.errors import InputError
from qtc_connections.keyfiles import load_private_key
from qtc_connections.properties import (
    ConnectionInput,
    build_connection_properties,
    gateway_value,
    merge_values,
    parse_assignment,
)
from qtc_connections.redact import SENSITIVE
from qtc_connections.secrets import Secret

CANARY = "CANARY-a1b2c3"


def _mysql_source(**overrides):
    fields = {
        "kind": get_kind("mysql-source"),
        "name": "SRC_MySQL",
        "gateway_id": "gw-1",
        "properties": {"server": "db.example.com", "username": "loader"},
        "secrets": {"password": Secret(CANARY)},
    }
    fields.update(overrides)
    return ConnectionInput(**fields)


def test_build_merges_defaults_and_inputs():
    built = build_connection_properties(
        _mysql_source(properties={"server": "db", "username": "u", "port": "3307"})
    )

    assert built.payload == {
        "agentId": "gw-1",
        "port": "3307",
        "replicateEndpointType": "mysql###None",
        "sshEnable": False,
        "sslMode": "PREFER",
        "eventsPollInterval": "5",
        "server": "db",
        "username": "u",
        "password": CANARY,
    }


def test_build_redacts_secrets_for_display():
    built = build_connection_properties(_mysql_source())

    assert built.redacted["password"] == SENSITIVE
    assert built.redacted["server"] == "db.example.com"
    assert CANARY not in json.dumps(built.redacted)
    assert CANARY not in repr(built)


def test_build_sends_key_file_array(key_files, key_passphrase):
    key_file = load_private_key(
        key_files.encrypted_pkcs8, passphrase=Secret(key_passphrase)
    )
    connection = ConnectionInput(
        kind=get_kind("snowflake-target"),
        name="TGT_SNOW",
        properties={"server": "a.snowflakecomputing.com", "warehouse": "w"},
        secrets={"privateKeyPassphrase": Secret(key_passphrase)},
        files={"privateKeyFile": key_file},
    )

    built = build_connection_properties(connection)

    assert built.payload["privateKeyFile"] == key_file.to_property_value()
    assert built.payload["privateKeyPassphrase"] == key_passphrase
    assert built.redacted["privateKeyFile"] == [
        {"name": "snowflake_rsa_key.p8", "value": SENSITIVE}
    ]
    assert built.redacted["privateKeyPassphrase"] == SENSITIVE
    assert "agentId" not in built.payload
    encoded = key_file.to_property_value()[0]["value"]
    assert encoded not in json.dumps(built.redacted)


def test_build_requires_data_movement_gateway():
    with pytest.raises(InputError) as caught:
        build_connection_properties(_mysql_source(gateway_id=None))

    message = str(caught.value)
    assert "mysql-source needs a Data Movement gateway id" in message
    assert "--gateway" in message
    assert "QTC_GATEWAY_ID" in message


def test_qlik_managed_ignores_gateway_id():
    connection = ConnectionInput(
        kind=get_kind("adls-target"),
        name="TGT_ADLS",
        gateway_id="dm-gateway",
        secrets={"adlsclientappkey": Secret("CANARY-adls-1")},
    )

    built = build_connection_properties(connection)

    assert built.payload["agentId"] == QLIK_MANAGED_GATEWAY


def test_no_gateway_kind_ignores_gateway_id():
    connection = ConnectionInput(
        kind=get_kind("databricks-target"), name="TGT_DBX", gateway_id="dm-gateway"
    )

    assert "agentId" not in build_connection_properties(connection).payload


def test_plain_agent_id_overrides_rule():
    connection = ConnectionInput(
        kind=get_kind("s3-target"),
        name="TGT_S3",
        properties={"agentId": "real-managed-id"},
    )

    assert build_connection_properties(connection).payload["agentId"] == (
        "real-managed-id"
    )


def test_raw_kind_gateway_from_input():
    kind = raw_kind("repsrc_db2luw", gateway_id="gw-9")
    connection = ConnectionInput(kind=kind, name="SRC_DB2", gateway_id="gw-9")

    assert build_connection_properties(connection).payload == {"agentId": "gw-9"}


@pytest.mark.parametrize(
    ("kind_name", "gateway_id", "expected"),
    [
        ("mysql-source", "gw", "gw"),
        ("mysql-source", None, None),
        ("mysql-source", "", None),
        ("gcs-target", None, QLIK_MANAGED_GATEWAY),
        ("gcs-target", "gw", QLIK_MANAGED_GATEWAY),
        ("bigquery-target", "gw", None),
    ],
)
def test_gateway_value_follows_rule(kind_name, gateway_id, expected):
    assert gateway_value(get_kind(kind_name), gateway_id) == expected


def test_merge_keeps_values_wrapped():
    merged = merge_values(_mysql_source())

    assert isinstance(merged["password"], Secret)


def test_input_copies_mappings():
    properties = {"server": "db", "username": "u"}
    connection = _mysql_source(properties=properties)
    properties["server"] = "changed"

    assert connection.properties["server"] == "db"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"properties": {"password": "x"}},
            "password is given with both --set and --secret",
        ),
        ({"name": "  "}, "connection name is empty"),
    ],
)
def test_input_rejects_bad_fields(overrides, expected):
    with pytest.raises(InputError, match=expected):
        _mysql_source(**overrides)


def test_input_rejects_file_and_secret(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)

    with pytest.raises(InputError, match="with both --secret and --key-file"):
        _mysql_source(files={"password": key_file})


def test_input_repr_hides_secrets():
    assert CANARY not in repr(_mysql_source())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server=db.example.com", ("server", "db.example.com")),
        ("filter=a=b", ("filter", "a=b")),
        ("database=", ("database", "")),
        ("path= spaced ", ("path", " spaced ")),
    ],
)
def test_parse_assignment_splits(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", [CANARY, f"={CANARY}", f" name ={CANARY}"])
def test_parse_assignment_rejects_without_echo(text):
    with pytest.raises(InputError) as caught:
        parse_assignment(text)

    assert CANARY not in str(caught.value.args[0])
    assert "NAME=VALUE" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        (" SRC", "has spaces at either end"),
        ("SRC\t", "has spaces at either end"),
        ("SRC\rFAKE", "contains a control character"),
        ("SRC\x1b[2J", "contains a control character"),
    ],
)
def test_connection_name_rejected(name, fragment):
    with pytest.raises(InputError) as caught:
        ConnectionInput(kind=get_kind("mysql-source"), name=name)
    assert fragment in str(caught.value)
    assert "\r" not in str(caught.value)
