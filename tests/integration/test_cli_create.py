"""``qtc connections create`` for every catalog kind and for raw data source ids."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_support import (
    GATEWAY_ID,
    KIND_NAMES,
    KIND_SOURCES,
    QLIK_MANAGED_GATEWAY,
    CreateFlags,
    KeyMaterial,
    Qtc,
    TenantFixture,
    admin_key,
    b64,
    canary,
    create_flags,
    leaked_fragments,
    member_key,
    settled_requests,
    settled_writes,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.client import QlikClient

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MYSQL_PLAIN = ["--set", "server=mysql.example.internal", "--set", "username=qtc"]


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    return write_key_material(tmp_path, rsa_private_key)


def assert_stored(
    client: QlikClient, tenant: TenantFixture, flags: CreateFlags, connection_id: str
) -> None:
    """Check what the tenant stored for a create made from ``flags``."""
    stored = client.connections.get(connection_id, parse_connection=True)
    properties = stored.connection_properties or {}
    data_source_id, gateway = KIND_SOURCES[flags.kind]
    emulator = tenant.server.emulator

    assert stored.name == flags.name
    assert stored.data_source_id == data_source_id
    assert stored.space_id == tenant.space_id()
    for name, value in flags.plain.items():
        assert properties.get(name) == value, name
    for name, value in flags.secrets.items():
        assert name not in properties, name
        assert emulator.secret_matches(connection_id, name, value), name
    for name, path in flags.files.items():
        assert name not in properties, name
        assert emulator.secret_matches(connection_id, name, b64(path.read_bytes()))
    if gateway == "data-movement":
        assert properties.get("agentId") == GATEWAY_ID
    elif gateway == "qlik-managed":
        assert properties.get("agentId") == QLIK_MANAGED_GATEWAY
    else:
        assert "agentId" not in properties


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_create_quiet_prints_only_id(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial, kind: str
) -> None:
    flags = create_flags(kind, keys)

    result = qtc("connections", "create", *flags.args, "-q", env=flags.env)

    assert result.exit_code == 0, result.output
    assert UUID.fullmatch(result.stdout.removesuffix("\n")), result.stdout
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""
    assert_stored(client, tenant, flags, result.stdout.strip())
    assert leaked_fragments(result, flags.canaries + keys.canaries) == []


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_create_json_has_no_secret(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial, kind: str
) -> None:
    flags = create_flags(kind, keys)

    result = qtc("connections", "create", *flags.args, "--json", env=flags.env)

    created = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert created["qName"] == flags.name
    assert created["datasourceID"] == KIND_SOURCES[kind][0]
    assert "connectionProperties" not in created
    assert leaked_fragments(result, flags.canaries + keys.canaries) == []
    for name in flags.secrets:
        assert f"{name}=" not in created["qConnectStatement"], name


def test_create_text_names_connection(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("mysql-source", keys)

    result = qtc("connections", "create", *flags.args, env=flags.env)

    match = re.fullmatch(
        rf"created {flags.name} \(({UUID.pattern})\) in space {tenant.space_id()}\n",
        result.stdout,
    )
    assert result.exit_code == 0, result.output
    assert match is not None, result.stdout


def test_create_adds_tags(qtc: Qtc, client: QlikClient, keys: KeyMaterial) -> None:
    flags = create_flags("s3-target", keys)

    result = qtc(
        "connections", "create", *flags.args, "--tag", "team-data", "-q", env=flags.env
    )

    stored = client.connections.get(result.stdout.strip())
    assert result.exit_code == 0, result.output
    assert "team-data" in stored.tags


def test_create_in_named_space(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("mysql-target", keys)

    result = qtc(
        "connections",
        "create",
        *flags.args,
        "--space",
        "Finance Data",
        "-q",
        env=flags.env,
    )

    stored = client.connections.get(result.stdout.strip())
    assert result.exit_code == 0, result.output
    assert stored.space_id == tenant.space_id("Finance Data")


def test_create_gateway_flag_wins(
    qtc: Qtc, client: QlikClient, keys: KeyMaterial
) -> None:
    flags = create_flags("oracle-source", keys)

    result = qtc(
        "connections",
        "create",
        *flags.args,
        "--gateway",
        "gw-flag",
        "-q",
        env=flags.env,
    )

    stored = client.connections.get(result.stdout.strip(), parse_connection=True)
    assert result.exit_code == 0, result.output
    assert (stored.connection_properties or {})["agentId"] == "gw-flag"


def test_create_existing_name_fails(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("mysql-source", keys)
    first = qtc("connections", "create", *flags.args, "-q", env=flags.env)

    second = qtc("connections", "create", *flags.args, "-q", env=flags.env)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 1
    assert second.stderr == (
        f"Error: connection '{flags.name}' already exists in space "
        f"{tenant.space_id()} (id {first.stdout.strip()}); use 'qtc connections "
        "patch' to change it, or choose another name\n"
    )
    assert [entry.method for entry in settled_writes(tenant)] == ["POST"]


def test_create_member_forbidden_in_space(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("mysql-source", keys)
    env = {**flags.env, "QTC_TOKEN": member_key(tenant), "QTC_SPACE_ID": "Finance Data"}

    result = qtc("connections", "create", *flags.args, env=env)

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith("Error: 403 Forbidden on POST ")
    assert errors[0].endswith(
        "ask a tenant admin for the role this needs, such as Can manage on the space"
    )
    assert leaked_fragments(result, flags.canaries + [member_key(tenant)]) == []


def test_create_secret_from_file(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    password = canary("file-password")
    secret_file = tmp_path / "mysql-password"
    # Editors and echo end the file with a newline, which is not part of it.
    secret_file.write_text(password + "\n")

    result = qtc(
        "connections",
        "create",
        "--kind",
        "mysql-source",
        "--name",
        "SRC_FileSecret",
        *MYSQL_PLAIN,
        "--secret",
        f"password=file:{secret_file}",
        "-q",
    )

    connection_id = result.stdout.strip()
    assert result.exit_code == 0, result.output
    assert tenant.server.emulator.secret_matches(connection_id, "password", password)
    assert leaked_fragments(result, [password]) == []


def test_create_secret_from_stdin(qtc: Qtc, tenant: TenantFixture) -> None:
    password = canary("stdin-password")

    result = qtc(
        "connections",
        "create",
        "--kind",
        "mysql-source",
        "--name",
        "SRC_StdinSecret",
        *MYSQL_PLAIN,
        "--secret",
        "password=-",
        "-q",
        input=password + "\n",
    )

    connection_id = result.stdout.strip()
    assert result.exit_code == 0, result.output
    assert tenant.server.emulator.secret_matches(connection_id, "password", password)
    assert leaked_fragments(result, [password]) == []


def test_create_secret_from_prompt(
    qtc: Qtc, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = canary("prompt-password")
    # CliRunner feeds input through a pipe; a person would type at a terminal.
    monkeypatch.setattr("qtc_connections.cli.output.stdin_is_terminal", lambda: True)

    result = qtc(
        "connections",
        "create",
        "--kind",
        "mysql-source",
        "--name",
        "SRC_PromptSecret",
        *MYSQL_PLAIN,
        "--secret",
        "password=prompt",
        "-q",
        input=password + "\n",
    )

    connection_id = result.stdout.strip()
    assert result.exit_code == 0, result.output
    assert UUID.fullmatch(connection_id), result.stdout
    assert "password: " in result.stderr
    assert "password: : " not in result.stderr
    assert tenant.server.emulator.secret_matches(connection_id, "password", password)
    assert leaked_fragments(result, [password]) == []


def test_prompt_without_terminal_rejected(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc(
        "connections",
        "create",
        "--kind",
        "mysql-source",
        "--name",
        "SRC_NoTerminal",
        *MYSQL_PLAIN,
        "--secret",
        "password=prompt",
        input="typed\n",
    )

    assert result.exit_code == 1
    assert (
        "cannot prompt for password: standard input is not a terminal" in result.stderr
    )
    assert settled_requests(tenant) == []


def test_create_plain_unencrypted_key(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    plain = [
        "--set",
        "server=acme.snowflakecomputing.com",
        "--set",
        "databaseQcsString=DB",
        "--set",
        "warehouse=WH",
        "--set",
        "username=LOADER",
    ]

    result = qtc(
        "connections",
        "create",
        "--kind",
        "snowflake-target",
        "--name",
        "TGT_SnowflakePlainKey",
        *plain,
        "--key-file",
        f"privateKeyFile={keys.plain_key}",
        "-q",
    )

    connection_id = result.stdout.strip()
    content = b64(keys.plain_key.read_bytes())
    emulator = tenant.server.emulator
    assert result.exit_code == 0, result.output
    assert emulator.secret_matches(connection_id, "privateKeyFile", content)
    assert emulator.secret_digest(connection_id, "privateKeyPassphrase") is None
    assert emulator.store.secret_file_name(connection_id, "privateKeyFile") == (
        "snowflake_rsa_key.p8"
    )


# Raw data source ids, given with --data-source


def test_create_catalog_id_as_data_source(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture
) -> None:
    password = canary("raw-password")

    result = qtc(
        "connections",
        "create",
        "--data-source",
        "repsrc_mysql",
        "--name",
        "SRC_RawMySQL",
        *MYSQL_PLAIN,
        "--secret",
        "password=env:QTC_TEST_RAW_PASSWORD",
        "-q",
        env={"QTC_TEST_RAW_PASSWORD": password},
    )

    connection_id = result.stdout.strip()
    stored = client.connections.get(connection_id, parse_connection=True)
    properties = stored.connection_properties or {}
    assert result.exit_code == 0, result.output
    # The catalog kind applies, with its defaults and gateway rule.
    assert properties["replicateEndpointType"] == "mysql###None"
    assert properties["agentId"] == GATEWAY_ID
    assert tenant.server.emulator.secret_matches(connection_id, "password", password)


def test_create_raw_gateway_source(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture
) -> None:
    password = canary("dg-password")
    gateway = "hX2pWq9LzT4vKc7RbN1mYs8dJf3GuA6e::a6CxFtkInvsJnrNXCOVWR8pQOwaphpU0"

    # QTC_GATEWAY_ID stays exported, as it would be for the catalog kinds,
    # but a DG_ data source has no agentId property to receive it.
    result = qtc(
        "connections",
        "create",
        "--data-source",
        "DG_mysql",
        "--name",
        "DG_MySQL_01",
        "--set",
        "host=mysql.example.internal",
        "--set",
        "username=qtc",
        "--set",
        f"gatewayInstance={gateway}",
        "--secret",
        "password=env:QTC_TEST_DG_PASSWORD",
        "-q",
        env={"QTC_TEST_DG_PASSWORD": password},
    )

    connection_id = result.stdout.strip()
    stored = client.connections.get(connection_id, parse_connection=True)
    properties = stored.connection_properties or {}
    assert result.exit_code == 0, result.output
    assert stored.data_source_id == "DG_mysql"
    assert properties["gatewayInstance"] == gateway
    assert "agentId" not in properties
    assert tenant.server.emulator.secret_matches(connection_id, "password", password)


def test_create_raw_analytics_source(qtc: Qtc, client: QlikClient) -> None:
    access_key = canary("access-key")
    secret_key = canary("secret-key")

    result = qtc(
        "connections",
        "create",
        "--data-source",
        "File_AmazonS3ConnectorV2",
        "--name",
        "S3_Analytics_01",
        "--set",
        "bucketName=qtc-analytics",
        "--set",
        "region=eu-west-1",
        "--secret",
        "accessKey=env:QTC_TEST_ACCESS_KEY",
        "--secret",
        "secretKey=env:QTC_TEST_SECRET_KEY",
        "--json",
        env={"QTC_TEST_ACCESS_KEY": access_key, "QTC_TEST_SECRET_KEY": secret_key},
    )

    created = json.loads(result.stdout)
    stored = client.connections.get(created["id"], parse_connection=True)
    assert result.exit_code == 0, result.output
    assert (stored.connection_properties or {})["region"] == "eu-west-1"
    assert leaked_fragments(result, [access_key, secret_key]) == []


def test_create_raw_secret_with_set_fails(qtc: Qtc, tenant: TenantFixture) -> None:
    literal = canary("raw-literal")

    # Only the api-specs say that password is a secret of DG_mysql.
    result = qtc(
        "connections",
        "create",
        "--data-source",
        "DG_mysql",
        "--name",
        "DG_MySQL_Bad",
        "--set",
        "host=mysql.example.internal",
        "--set",
        "username=qtc",
        "--set",
        "gatewayInstance=gw",
        "--set",
        f"password={literal}",
    )

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: connection 'DG_MySQL_Bad' (raw:DG_mysql): password is a secret; "
        "pass it with --secret password=REF (env:NAME, file:PATH, - (standard "
        "input) or prompt), not with --set\n"
    )
    assert leaked_fragments(result, [literal]) == []
    assert settled_writes(tenant) == []


def test_create_raw_unknown_source_fails(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc(
        "connections",
        "create",
        "--data-source",
        "repsrc_db2luw",
        "--name",
        "SRC_DB2",
        "--set",
        "server=db2.example.internal",
    )

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith(
        "Error: 404 Not Found on GET "
        f"{tenant.url}/api/v1/data-sources/repsrc_db2luw/api-specs"
    )
    assert settled_writes(tenant) == []


# Personal space


def test_create_personal_ignores_other_spaces(
    qtc: Qtc, client: QlikClient, keys: KeyMaterial
) -> None:
    flags = create_flags("mysql-source", keys)
    in_space = qtc("connections", "create", *flags.args, "-q", env=flags.env)

    personal = qtc(
        "connections",
        "create",
        *flags.args,
        "-q",
        env={**flags.env, "QTC_SPACE_ID": None},
    )

    assert in_space.exit_code == 0, in_space.output
    assert personal.exit_code == 0, personal.output
    assert client.connections.get(personal.stdout.strip()).space_id is None


def test_create_personal_space_text(
    qtc: Qtc, client: QlikClient, keys: KeyMaterial
) -> None:
    flags = create_flags("s3-target", keys)

    result = qtc(
        "connections", "create", *flags.args, env={**flags.env, "QTC_SPACE_ID": None}
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(" in space personal\n")


def test_create_debug_hides_every_secret(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("snowflake-target", keys)

    result = qtc("--debug", "connections", "create", *flags.args, env=flags.env)

    assert result.exit_code == 0, result.output
    assert "DEBUG qtc_connections.http: POST " in result.stderr
    secrets = flags.canaries + keys.canaries + [admin_key(tenant)]
    assert leaked_fragments(result, secrets) == []
    assert b64(keys.encrypted_key.read_bytes()) not in result.stderr
