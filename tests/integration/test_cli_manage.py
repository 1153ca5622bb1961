"""``qtc connections get``, ``patch``, ``delete`` and ``list`` against the emulator."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import (
    KeyMaterial,
    Qtc,
    TenantFixture,
    b64,
    canary,
    create_flags,
    leaked_fragments,
    settled_requests,
    settled_writes,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.client import QlikClient
from qtc_connections.errors import NotFoundError

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

MISSING_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class MySQLConnection:
    """A MySQL source created for one test, with its canary password."""

    id: str
    name: str
    password: str


def create_mysql(
    qtc: Qtc, name: str, *, space: str | None = None, server: str = "db.internal"
) -> MySQLConnection:
    """Create a MySQL source with ``qtc`` and return its id and password."""
    password = canary("mysql-password")
    space_args = ["--space", space] if space else []
    result = qtc(
        "connections",
        "create",
        "--kind",
        "mysql-source",
        "--name",
        name,
        *space_args,
        "--set",
        f"server={server}",
        "--set",
        "username=qtc_reader",
        "--secret",
        "password=env:QTC_TEST_PASSWORD",
        "-q",
        env={"QTC_TEST_PASSWORD": password},
    )
    assert result.exit_code == 0, result.output
    return MySQLConnection(id=result.stdout.strip(), name=name, password=password)


def patches(tenant: TenantFixture) -> list[str]:
    """Return the paths of the PATCH requests the emulator received."""
    return [entry.path for entry in settled_writes(tenant) if entry.method == "PATCH"]


def deletes(tenant: TenantFixture) -> list[str]:
    """Return the paths of the DELETE requests the emulator received."""
    return [entry.path for entry in settled_writes(tenant) if entry.method == "DELETE"]


@pytest.fixture
def mysql(qtc: Qtc) -> MySQLConnection:
    return create_mysql(qtc, "SRC_MySQL_Manage")


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    return write_key_material(tmp_path, rsa_private_key)


# get


def test_get_by_id_shows_fields(
    qtc: Qtc, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    result = qtc("connections", "get", mysql.id)

    fields = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert result.exit_code == 0, result.output
    assert fields["id"].strip() == mysql.id
    assert fields["name"].strip() == mysql.name
    assert fields["data source"].strip() == "repsrc_mysql"
    assert fields["space"].strip() == tenant.space_id()
    assert "properties" not in fields


def test_get_by_name_parses_properties(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "get", mysql.name, "--parse")

    lines = result.stdout.splitlines()
    properties = lines[lines.index("properties:") + 1 :]
    assert result.exit_code == 0, result.output
    assert "  server: db.internal" in properties
    assert "  username: qtc_reader" in properties
    assert "  sshEnable: false" in properties
    assert "  agentId: gw-test-0001" in properties
    assert not any(line.startswith("  password:") for line in properties)
    assert leaked_fragments(result, [mysql.password]) == []


def test_get_parse_json_has_no_secret(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "get", mysql.name, "--parse", "--json")

    body = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert body["connectionProperties"]["server"] == "db.internal"
    assert "password" not in body["connectionProperties"]
    assert leaked_fragments(result, [mysql.password]) == []


def test_get_quiet_prints_id(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "get", mysql.name, "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{mysql.id}\n"


def test_get_name_with_quote_and_slash(qtc: Qtc) -> None:
    created = create_mysql(qtc, 'SRC "quoted"/name')

    result = qtc("connections", "get", created.name, "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{created.id}\n"


def test_get_name_outside_ascii(qtc: Qtc) -> None:
    created = create_mysql(qtc, "SRC_Café_Zürich")

    result = qtc("connections", "get", created.name, "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{created.id}\n"


def test_get_unknown_name_fails(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("connections", "get", "SRC_Nowhere")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no connection named 'SRC_Nowhere' in space {tenant.space_id()}; "
        "check the name with 'qtc connections list'\n"
    )


def test_get_unknown_id_fails(qtc: Qtc) -> None:
    result = qtc("connections", "get", MISSING_ID)

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith("Error: 404 Not Found on GET ")
    assert MISSING_ID in errors[0]


def test_get_other_space_by_flag(qtc: Qtc) -> None:
    created = create_mysql(qtc, "SRC_Finance", space="Finance Data")

    default = qtc("connections", "get", created.name, "-q")
    flagged = qtc("connections", "get", created.name, "--space", "Finance Data", "-q")

    assert default.exit_code == 1
    assert flagged.exit_code == 0, flagged.output
    assert flagged.stdout == f"{created.id}\n"


def test_get_shared_name_needs_space(qtc: Qtc) -> None:
    first = create_mysql(qtc, "SRC_Twice")
    second = create_mysql(qtc, "SRC_Twice", space="Finance Data")

    result = qtc("connections", "get", "SRC_Twice", env={"QTC_SPACE_ID": None})

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 2 connections are named 'SRC_Twice': ")
    assert first.id in result.stderr
    assert second.id in result.stderr
    assert result.stderr.endswith("; give a space to choose one\n")


# patch


def test_patch_rotates_password(
    qtc: Qtc, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    new_password = canary("rotated-password")

    result = qtc(
        "connections",
        "patch",
        mysql.name,
        "--secret",
        "password=env:QTC_TEST_NEW_PASSWORD",
        env={"QTC_TEST_NEW_PASSWORD": new_password},
    )

    emulator = tenant.server.emulator
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"patched {mysql.name} ({mysql.id}): /connectionProperties/password\n"
    )
    assert emulator.secret_matches(mysql.id, "password", new_password)
    assert not emulator.secret_matches(mysql.id, "password", mysql.password)
    assert patches(tenant) == [f"/api/v1/data-connections/{mysql.id}"]
    assert leaked_fragments(result, [new_password, mysql.password]) == []


def test_patch_json_redacts_secret(qtc: Qtc, mysql: MySQLConnection) -> None:
    new_password = canary("rotated-password")

    result = qtc(
        "connections",
        "patch",
        mysql.id,
        "--secret",
        "password=env:QTC_TEST_NEW_PASSWORD",
        "--json",
        env={"QTC_TEST_NEW_PASSWORD": new_password},
    )

    body = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert body == {
        "id": mysql.id,
        "operations": [
            {
                "op": "replace",
                "path": "/connectionProperties/password",
                "value": "(sensitive)",
            }
        ],
    }
    assert leaked_fragments(result, [new_password]) == []


def test_patch_quiet_prints_id(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "patch", mysql.name, "--set", "port=3307", "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{mysql.id}\n"


def test_patch_rotates_service_account(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("bigquery-target", keys)
    created = qtc("connections", "create", *flags.args, "-q", env=flags.env)
    connection_id = created.stdout.strip()

    result = qtc(
        "connections",
        "patch",
        flags.name,
        "--key-file",
        f"jsonCredentials={keys.rotated_service_account}",
    )

    rotated = b64(keys.rotated_service_account.read_bytes())
    original = b64(keys.service_account.read_bytes())
    emulator = tenant.server.emulator
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"patched {flags.name} ({connection_id}): /connectionProperties/jsonCredentials\n"
    )
    assert emulator.secret_matches(connection_id, "jsonCredentials", rotated)
    assert not emulator.secret_matches(connection_id, "jsonCredentials", original)
    assert leaked_fragments(result, keys.canaries) == []


def test_patch_rotates_snowflake_key(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("snowflake-target", keys)
    created = qtc("connections", "create", *flags.args, "-q", env=flags.env)
    connection_id = created.stdout.strip()

    # The new key is not encrypted, so it goes without a passphrase.
    result = qtc(
        "connections",
        "patch",
        connection_id,
        "--key-file",
        f"privateKeyFile={keys.plain_key}",
    )

    content = b64(keys.plain_key.read_bytes())
    assert result.exit_code == 0, result.output
    assert tenant.server.emulator.secret_matches(
        connection_id, "privateKeyFile", content
    )
    assert leaked_fragments(result, keys.canaries) == []


def test_patch_encrypted_key_needs_passphrase(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("snowflake-target", keys)
    created = qtc("connections", "create", *flags.args, "-q", env=flags.env)

    result = qtc(
        "connections",
        "patch",
        flags.name,
        "--key-file",
        f"privateKeyFile={keys.encrypted_key}",
    )

    assert created.exit_code == 0, created.output
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: key file {keys.encrypted_key} is encrypted, so it needs a "
        "passphrase: pass --secret privateKeyPassphrase=REF\n"
    )
    assert patches(tenant) == []


def test_patch_ec_key_rejected(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("snowflake-target", keys)
    qtc("connections", "create", *flags.args, "-q", env=flags.env)

    result = qtc(
        "connections",
        "patch",
        flags.name,
        "--key-file",
        f"privateKeyFile={keys.ec_key}",
    )

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: key file {keys.ec_key} contains an EC private key, but Snowflake "
        "key pairs are RSA; generate an RSA key in PKCS#8 format\n"
    )
    assert patches(tenant) == []
    assert leaked_fragments(result, keys.canaries) == []


def test_patch_renames_connection(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "patch", mysql.name, "--rename", "SRC_Renamed")

    by_new_name = qtc("connections", "get", "SRC_Renamed", "-q")
    by_old_name = qtc("connections", "get", mysql.name, "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"patched {mysql.name} ({mysql.id}): /qName\n"
    assert by_new_name.stdout == f"{mysql.id}\n"
    assert by_old_name.exit_code == 1


def test_patch_rename_to_taken_name(qtc: Qtc, mysql: MySQLConnection) -> None:
    other = create_mysql(qtc, "SRC_Other")

    result = qtc("connections", "patch", other.name, "--rename", mysql.name)

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith("Error: 409 Conflict on PATCH ")


def test_patch_server_needs_password(
    qtc: Qtc, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    result = qtc("connections", "patch", mysql.name, "--set", "server=db2.internal")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: PATCH body rejected: changing /connectionProperties/server to a "
        "new value needs credentials in the same body; add /qPassword or "
        "/connectionProperties/password to the same body\n"
    )
    assert patches(tenant) == []


def test_patch_server_with_password_passes(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    new_password = canary("moved-password")

    result = qtc(
        "connections",
        "patch",
        mysql.name,
        "--set",
        "server=db2.internal",
        "--secret",
        "password=env:QTC_TEST_NEW_PASSWORD",
        env={"QTC_TEST_NEW_PASSWORD": new_password},
    )

    stored = client.connections.get(mysql.id, parse_connection=True)
    assert result.exit_code == 0, result.output
    assert (stored.connection_properties or {})["server"] == "db2.internal"
    assert tenant.server.emulator.secret_matches(mysql.id, "password", new_password)
    assert len(patches(tenant)) == 1


def test_patch_same_server_needs_nothing(
    qtc: Qtc, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    # Only a new value moves the connection, so the current one is fine.
    result = qtc("connections", "patch", mysql.name, "--set", "server=db.internal")

    assert result.exit_code == 0, result.output
    assert len(patches(tenant)) == 1


def test_patch_postgres_host_needs_password(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("postgresql-target", keys)
    qtc("connections", "create", *flags.args, "-q", env=flags.env)

    result = qtc("connections", "patch", flags.name, "--set", "host=pg2.internal")

    assert result.exit_code == 1
    assert "changing /connectionProperties/host to a new value" in result.stderr
    assert patches(tenant) == []


def test_patch_boolean_value_typed(
    qtc: Qtc, client: QlikClient, mysql: MySQLConnection
) -> None:
    result = qtc("connections", "patch", mysql.name, "--set", "sshEnable=true")

    stored = client.connections.get(mysql.id, parse_connection=True)
    assert result.exit_code == 0, result.output
    assert (stored.connection_properties or {})["sshEnable"] is True


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["--set", "sshEnable=yes"],
            (
                "Error: property sshEnable must be a boolean, but 'yes' is not; write "
                "true or false, in lower case"
            ),
        ),
        (
            ["--set", "sslMode=prefer"],
            (
                "Error: connection 'SRC_MySQL_Manage' (mysql-source): sslMode is "
                "'prefer', which is not an allowed value; values are case-sensitive: "
                "use 'PREFER'"
            ),
        ),
        (
            ["--set", "servr=db2.internal"],
            (
                "Error: connection 'SRC_MySQL_Manage' (mysql-source): unknown property "
                "servr; did you mean server?"
            ),
        ),
        (
            [],
            (
                "Error: PATCH body is empty; give at least one change, such as a new "
                "property value or secret"
            ),
        ),
        (
            ["--set", "port=3307", "--remove", "port"],
            (
                "Error: PATCH body changes /connectionProperties/port twice; give each "
                "change once"
            ),
        ),
    ],
    ids=["boolean-yes", "enum-case", "unknown-name", "empty-body", "set-and-remove"],
)
def test_patch_invalid_sends_no_patch(
    qtc: Qtc,
    tenant: TenantFixture,
    mysql: MySQLConnection,
    flags: list[str],
    expected: str,
) -> None:
    result = qtc("connections", "patch", mysql.name, *flags)

    assert result.exit_code == 1
    assert result.stderr == expected + "\n"
    assert patches(tenant) == []


def test_patch_secret_with_set_hidden(
    qtc: Qtc, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    literal = canary("patch-literal")

    result = qtc("connections", "patch", mysql.name, "--set", f"password={literal}")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: connection 'SRC_MySQL_Manage' (mysql-source): password is a "
        "secret; pass it with --secret password=REF (env:NAME, file:PATH, - "
        "(standard input) or prompt), not with --set\n"
    )
    assert leaked_fragments(result, [literal]) == []
    assert patches(tenant) == []


def test_patch_literal_secret_sends_nothing(
    qtc: Qtc, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    literal = canary("patch-literal")
    before = len(settled_requests(tenant))

    result = qtc("connections", "patch", mysql.name, "--secret", f"password={literal}")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: secret for password is not a reference; give env:NAME, "
        "file:PATH, - (standard input) or prompt, never the value itself\n"
    )
    assert leaked_fragments(result, [literal]) == []
    assert len(settled_requests(tenant)) == before


def test_patch_unknown_connection_fails(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("connections", "patch", "SRC_Nowhere", "--set", "port=1")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no connection named 'SRC_Nowhere'")
    assert settled_writes(tenant) == []


# delete


def test_delete_yes_removes_connection(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    result = qtc("connections", "delete", mysql.name, "--yes")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"deleted {mysql.name} ({mysql.id})\n"
    assert deletes(tenant) == [f"/api/v1/data-connections/{mysql.id}"]
    with pytest.raises(NotFoundError):
        client.connections.get(mysql.id)


def test_delete_by_id_quiet(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "delete", mysql.id, "--yes", "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{mysql.id}\n"


def test_delete_json_output(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "delete", mysql.id, "--yes", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"id": mysql.id, "deleted": True}


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # CliRunner feeds input through a pipe; a person would answer at a terminal.
    monkeypatch.setattr("qtc_connections.cli.output.stdin_is_terminal", lambda: True)


def test_delete_confirmed_at_prompt(
    qtc: Qtc, tenant: TenantFixture, mysql: MySQLConnection, terminal: None
) -> None:
    result = qtc("connections", "delete", mysql.name, input="y\n")

    assert result.exit_code == 0, result.output
    assert f"Delete connection {mysql.name} ({mysql.id})? [y/N]: " in result.stderr
    assert deletes(tenant) == [f"/api/v1/data-connections/{mysql.id}"]


def test_delete_declined_at_prompt(
    qtc: Qtc,
    client: QlikClient,
    tenant: TenantFixture,
    mysql: MySQLConnection,
    terminal: None,
) -> None:
    result = qtc("connections", "delete", mysql.name, input="n\n")

    assert result.exit_code == 1
    assert deletes(tenant) == []
    assert client.connections.get(mysql.id).name == mysql.name


def test_delete_without_terminal_needs_yes(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, mysql: MySQLConnection
) -> None:
    result = qtc("connections", "delete", mysql.name, input="y\n")

    assert result.exit_code == 2
    assert "standard input is not a terminal; pass --yes" in result.stderr
    assert deletes(tenant) == []
    assert client.connections.get(mysql.id).name == mysql.name


def test_delete_missing_ok_name(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("connections", "delete", "SRC_Gone", "--yes", "--missing-ok")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "SRC_Gone does not exist; nothing to delete\n"
    assert deletes(tenant) == []


def test_delete_missing_ok_id(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("connections", "delete", MISSING_ID, "--yes", "--missing-ok")

    assert result.exit_code == 0, result.output
    assert result.stderr == f"{MISSING_ID} does not exist; nothing to delete\n"
    assert deletes(tenant) == []


def test_delete_missing_name_fails(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("connections", "delete", "SRC_Gone", "--yes")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no connection named 'SRC_Gone' in space {tenant.space_id()}; "
        "check the name with 'qtc connections list'\n"
    )


def test_delete_missing_id_fails(qtc: Qtc) -> None:
    result = qtc("connections", "delete", MISSING_ID, "--yes")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 404 Not Found on GET ")


def test_delete_missing_ok_unknown_space(qtc: Qtc, tenant: TenantFixture) -> None:
    # A mistyped space is not a missing connection: it must not pass.
    result = qtc(
        "connections",
        "delete",
        "SRC_Gone",
        "--yes",
        "--missing-ok",
        "--space",
        "No Such Space",
    )

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: space 'No Such Space' not found, or not visible to this "
        "identity; list spaces with 'qtc spaces list'\n"
    )


def test_delete_missing_ok_shared_name(qtc: Qtc, tenant: TenantFixture) -> None:
    create_mysql(qtc, "SRC_Twice")
    create_mysql(qtc, "SRC_Twice", space="Finance Data")

    result = qtc(
        "connections",
        "delete",
        "SRC_Twice",
        "--yes",
        "--missing-ok",
        env={"QTC_SPACE_ID": None},
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 2 connections are named 'SRC_Twice': ")
    assert deletes(tenant) == []


def test_delete_twice_with_missing_ok(qtc: Qtc, mysql: MySQLConnection) -> None:
    first = qtc("connections", "delete", mysql.name, "--yes", "--missing-ok")
    second = qtc("connections", "delete", mysql.name, "--yes", "--missing-ok")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert second.stderr == f"{mysql.name} does not exist; nothing to delete\n"


# list


def list_rows(stdout: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line) for line in stdout.splitlines()]


def test_list_table_shows_connections(qtc: Qtc, tenant: TenantFixture) -> None:
    first = create_mysql(qtc, "SRC_List_A")
    second = create_mysql(qtc, "SRC_List_B")

    result = qtc("connections", "list")

    rows = list_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows[0] == ["ID", "NAME", "DATA SOURCE", "SPACE", "UPDATED"]
    assert [row[:4] for row in rows[1:]] == [
        [first.id, first.name, "repsrc_mysql", tenant.space_id()],
        [second.id, second.name, "repsrc_mysql", tenant.space_id()],
    ]
    assert result.stderr == "2 connections\n"


def test_list_json_has_no_secret(qtc: Qtc, mysql: MySQLConnection) -> None:
    result = qtc("connections", "list", "--json")

    items = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert [item["id"] for item in items] == [mysql.id]
    assert leaked_fragments(result, [mysql.password]) == []


def test_list_quiet_prints_ids(qtc: Qtc) -> None:
    created = [create_mysql(qtc, f"SRC_Quiet_{n}").id for n in range(3)]

    result = qtc("connections", "list", "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == created
    assert result.stderr == ""


def test_list_filter_by_prefix(qtc: Qtc, keys: KeyMaterial) -> None:
    source = create_mysql(qtc, "SRC_Filter")
    flags = create_flags("s3-target", keys, name="TGT_Filter")
    target = qtc("connections", "create", *flags.args, "-q", env=flags.env)

    result = qtc("connections", "list", "--filter", 'qName sw "TGT_"', "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == target.stdout
    assert source.id not in result.stdout


def test_list_follows_every_page(qtc: Qtc, tenant: TenantFixture) -> None:
    created = [create_mysql(qtc, f"SRC_Page_{n}").id for n in range(5)]
    before = len(settled_requests(tenant))

    result = qtc("connections", "list", "--page-size", "2", "-q")

    pages = [
        entry
        for entry in settled_requests(tenant)[before:]
        if entry.path == "/api/v1/data-connections"
    ]
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == created
    assert len(pages) == 3
    assert "limit=2" in pages[0].query


def test_list_sorts_descending(qtc: Qtc) -> None:
    names = ["SRC_Sort_B", "SRC_Sort_C", "SRC_Sort_A"]
    ids = {name: create_mysql(qtc, name).id for name in names}

    result = qtc("connections", "list", "--sort", "-qName", "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [ids[name] for name in sorted(names)[::-1]]


def test_list_space_and_all_spaces(qtc: Qtc) -> None:
    integration = create_mysql(qtc, "SRC_Integration")
    finance = create_mysql(qtc, "SRC_Finance", space="Finance Data")

    in_space = qtc("connections", "list", "-q")
    everywhere = qtc("connections", "list", "--all-spaces", "-q")

    assert in_space.stdout.splitlines() == [integration.id]
    assert set(everywhere.stdout.splitlines()) == {integration.id, finance.id}


def test_list_invalid_filter_fails(qtc: Qtc) -> None:
    result = qtc("connections", "list", "--filter", 'qName zz "x"')

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith("Error: 400 Bad Request on GET ")


def test_list_page_size_out_of_range(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("connections", "list", "--page-size", "101")

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--page-size': 101 is not in the range 1<=x<=100."
    )
    assert settled_requests(tenant) == []


def test_list_space_given_by_id(qtc: Qtc, tenant: TenantFixture) -> None:
    finance = create_mysql(qtc, "SRC_ById", space="Finance Data")

    result = qtc(
        "connections",
        "list",
        "-q",
        env={"QTC_SPACE_ID": tenant.space_id("Finance Data")},
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{finance.id}\n"


def test_list_unknown_space_fails(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("connections", "list", env={"QTC_SPACE_ID": "No Such Space"})

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: space 'No Such Space' not found, or not visible to this "
        "identity; list spaces with 'qtc spaces list'\n"
    )
    assert [entry.path for entry in settled_requests(tenant)] == ["/api/v1/spaces"]


def test_hostname_flag_overrides_environment(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc(
        "spaces",
        "list",
        "-q",
        "--hostname",
        tenant.url,
        env={"QTC_HOSTNAME": "acme.eu.qlikcloud.com/api"},
    )

    assert result.exit_code == 0, result.output
    assert "022b8b9a1222d5f5374aa45b" in result.stdout.splitlines()
