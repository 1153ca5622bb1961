"""``qtc export`` against the emulator: what the manifest contains and leaves out.

The manifest text is parsed with ruamel.yaml here, so these tests do not
depend on the manifest loader; ``test_export_plan`` loads it for real.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import (
    GATEWAY_ID,
    QLIK_MANAGED_GATEWAY,
    TenantFixture,
    admin_key,
    b64,
    canary,
    leaked_fragments,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa
from ruamel.yaml import YAML
from sync_cli_support import (
    Runner,
    create_connection,
    mysql_source,
    snowflake_target,
    sync_runner,
)

from qtc_connections.client import QlikClient
from qtc_connections.sync.export import variable_name

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

OTHER_SPACE = "Finance Data"


@pytest.fixture
def run(tenant: TenantFixture, tmp_path: Path, monkeypatch) -> Runner:
    return sync_runner(tenant, tmp_path, monkeypatch)


def _manifest(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(text)
    return loaded


def _entries(text: str) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in _manifest(text)["connections"]}


def _s3_target(client: QlikClient, name: str, space_id: str) -> None:
    create_connection(
        client,
        name,
        "reptgt_qdis3",
        {
            "agentId": QLIK_MANAGED_GATEWAY,
            "bucketName": "qtc-landing",
            "useAwsPrivateLink": False,
            "s3AccessKey": canary("access"),
            "s3SecretKey": canary("secret"),
        },
        space_id=space_id,
    )


def test_export_catalog_kinds(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    space_id = tenant.space_id()
    mysql_source(
        client,
        "SRC_MySQL",
        canary("pw"),
        space_id=space_id,
        server="mysql.prod.internal",
        tags=("team-sales", "tier-1"),
    )
    _s3_target(client, "TGT_S3", space_id)

    result = run("export")

    assert result.exit_code == 0, result.output
    document = _manifest(result.stdout)
    assert document["version"] == 1
    assert document["variables"] == {"space": "Data Integration", "gateway": GATEWAY_ID}
    assert document["defaults"] == {"space": "${space}"}
    entries = _entries(result.stdout)
    assert entries["SRC_MySQL"] == {
        "name": "SRC_MySQL",
        "kind": "mysql-source",
        "gateway": "${gateway}",
        "tags": ["team-sales", "tier-1"],
        "properties": {"server": "mysql.prod.internal", "username": "qtc_reader"},
        "secrets": {"password": "env:QTC_SECRET_SRC_MYSQL_PASSWORD"},
    }
    assert entries["TGT_S3"] == {
        "name": "TGT_S3",
        "kind": "s3-target",
        "properties": {"bucketName": "qtc-landing"},
        "secrets": {
            "s3AccessKey": "env:QTC_SECRET_TGT_S3_S3ACCESSKEY",
            "s3SecretKey": "env:QTC_SECRET_TGT_S3_S3SECRETKEY",
        },
    }


def test_export_keeps_changed_defaults(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    properties = {
        "agentId": GATEWAY_ID,
        "server": "db",
        "username": "u",
        "password": canary("pw"),
        "port": "3307",
        "sslMode": "PREFER",
        "sshEnable": True,
    }
    create_connection(
        client, "SRC_Custom", "repsrc_mysql", properties, space_id=tenant.space_id()
    )

    result = run("export")

    assert result.exit_code == 0, result.output
    exported = _entries(result.stdout)["SRC_Custom"]["properties"]
    assert exported == {
        "port": "3307",
        "server": "db",
        "sshEnable": True,
        "username": "u",
    }
    assert "port: '3307'" in result.stdout


def test_export_key_file_references(
    run: Runner,
    client: QlikClient,
    tenant: TenantFixture,
    tmp_path: Path,
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    keys = write_key_material(tmp_path, rsa_private_key)
    key_value = [
        {"name": "snowflake_rsa_key.p8", "value": b64(keys.encrypted_key.read_bytes())}
    ]
    snowflake_target(
        client, "TGT_Snowflake", key_value, keys.passphrase, space_id=tenant.space_id()
    )

    result = run("export")

    assert result.exit_code == 0, result.output
    entry = _entries(result.stdout)["TGT_Snowflake"]
    assert "gateway" not in entry
    assert entry["key_files"] == {
        "privateKeyFile": "env:QTC_KEY_FILE_TGT_SNOWFLAKE_PRIVATEKEYFILE"
    }
    assert entry["secrets"] == {
        "privateKeyPassphrase": "env:QTC_SECRET_TGT_SNOWFLAKE_PRIVATEKEYPASSPHRASE"
    }
    line = next(x for x in result.stdout.splitlines() if "privateKeyFile:" in x)
    assert line.endswith("# a path: set the variable to it, or write the path here")
    assert "authentication_mode" not in entry["properties"]
    assert leaked_fragments(result, [*keys.canaries, key_value[0]["value"]]) == []


def test_export_raw_data_sources(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    space_id = tenant.space_id()
    create_connection(
        client,
        "DG_Orders",
        "DG_mysql",
        {
            "gatewayInstance": "hX2pWq9LzT4vKc7RbN1mYs8dJf3GuA6e::a6CxFtkInvsJnrNXCOVWR8pQOwaphpU0",
            "host": "orders.internal",
            "port": "3306",
            "username": "reader",
            "password": canary("dg-password"),
        },
        space_id=space_id,
    )
    create_connection(
        client,
        "S3_Analytics",
        "File_AmazonS3ConnectorV2",
        {
            "region": "eu-west-1",
            "bucketName": "analytics",
            "accessKey": canary("ak"),
            "secretKey": canary("sk"),
        },
        space_id=space_id,
    )

    result = run("export")

    assert result.exit_code == 0, result.output
    entries = _entries(result.stdout)
    orders = entries["DG_Orders"]
    assert orders["data_source"] == "DG_mysql"
    assert "kind" not in orders
    assert "gateway" not in orders
    assert orders["properties"]["gatewayInstance"].startswith("hX2pWq9L")
    assert orders["properties"]["port"] == "3306"
    assert orders["secrets"] == {"password": "env:QTC_SECRET_DG_ORDERS_PASSWORD"}
    analytics = entries["S3_Analytics"]
    assert analytics["data_source"] == "File_AmazonS3ConnectorV2"
    assert analytics["properties"]["region"] == "eu-west-1"
    assert sorted(analytics["secrets"]) == ["accessKey", "secretKey"]


def test_export_escapes_awkward_names(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    names = [
        'SRC: "quoted" #1',
        "SRC ${HOME} literal",
        "yes",
        "* starts with a star",
        "名前/ü",
        "two\nlines\rand more",
    ]
    for name in names:
        mysql_source(client, name, canary("pw"), space_id=tenant.space_id())

    result = run("export", "--json")

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    parsed = _entries(body["manifest"])
    assert sorted(parsed) == sorted([*names[:1], "SRC $${HOME} literal", *names[2:]])
    assert "- name: 'yes'" in body["manifest"]
    variables = [variable["name"] for variable in body["variables"]]
    assert "QTC_SECRET_SRC_QUOTED_1_PASSWORD" in variables
    assert "QTC_SECRET_SRC_HOME_LITERAL_PASSWORD" in variables
    assert "QTC_SECRET_X_PASSWORD" in variables
    assert "QTC_SECRET_TWO_LINES_AND_MORE_PASSWORD" in variables
    assert all(name.isascii() and name.replace("_", "").isalnum() for name in variables)


def test_export_disambiguates_variables(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    for name in ("SRC-Dup", "SRC_Dup", "src.dup"):
        mysql_source(client, name, canary("pw"), space_id=tenant.space_id())

    result = run("export", "--json")

    assert result.exit_code == 0, result.output
    variables = {
        v["connection"]: v["name"] for v in json.loads(result.stdout)["variables"]
    }
    assert sorted(variables.values()) == [
        "QTC_SECRET_SRC_DUP_PASSWORD",
        "QTC_SECRET_SRC_DUP_PASSWORD_2",
        "QTC_SECRET_SRC_DUP_PASSWORD_3",
    ]
    assert variables["SRC-Dup"] == "QTC_SECRET_SRC_DUP_PASSWORD"


def test_variable_name_rules() -> None:
    taken: set[str] = set()

    assert variable_name("QTC_SECRET_", "a--b", "x.y", taken) == "QTC_SECRET_A_B_X_Y"
    assert variable_name("QTC_SECRET_", "A_B", "X_Y", taken) == "QTC_SECRET_A_B_X_Y_2"
    assert variable_name("QTC_SECRET_", "__", "p", taken) == "QTC_SECRET_X_P"
    assert taken == {"QTC_SECRET_A_B_X_Y", "QTC_SECRET_A_B_X_Y_2", "QTC_SECRET_X_P"}


def test_export_all_spaces(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    mysql_source(client, "SRC_Main", canary("pw"), space_id=tenant.space_id())
    mysql_source(
        client, "SRC_Finance", canary("pw"), space_id=tenant.space_id(OTHER_SPACE)
    )
    personal = mysql_source(client, "SRC_Personal", canary("pw"), space_id=None)

    result = run("export", "--all-spaces", "--json")

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    manifest = _manifest(body["manifest"])
    assert "defaults" not in manifest
    entries = _entries(body["manifest"])
    assert entries["SRC_Main"]["space"] == "Data Integration"
    assert entries["SRC_Finance"]["space"] == OTHER_SPACE
    assert "SRC_Personal" not in entries
    assert body["skipped"] == [
        {
            "id": personal.id,
            "name": "SRC_Personal",
            "reason": "it is in a personal space, which a manifest cannot name",
        }
    ]
    assert f"skipped SRC_Personal ({personal.id})" in result.stderr


def test_export_space_and_filter(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    mysql_source(client, "SRC_Main", canary("pw"), space_id=tenant.space_id())
    mysql_source(
        client, "SRC_Finance_A", canary("pw"), space_id=tenant.space_id(OTHER_SPACE)
    )
    mysql_source(
        client, "TGT_Finance_B", canary("pw"), space_id=tenant.space_id(OTHER_SPACE)
    )

    result = run("export", "--space", OTHER_SPACE, "--filter", 'qName sw "SRC_"')

    assert result.exit_code == 0, result.output
    assert list(_entries(result.stdout)) == ["SRC_Finance_A"]
    assert _manifest(result.stdout)["variables"]["space"] == OTHER_SPACE


def test_export_lists_variables_on_stderr(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    mysql_source(client, "SRC_MySQL", canary("pw"), space_id=tenant.space_id())

    result = run("export")

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "exported 1 connection"
    assert lines[2].split() == ["VARIABLE", "CONNECTION", "PROPERTY", "HOLDS"]
    assert lines[3].split() == [
        "QTC_SECRET_SRC_MYSQL_PASSWORD",
        "SRC_MySQL",
        "password",
        "secret",
    ]
    assert "#   QTC_SECRET_SRC_MYSQL_PASSWORD" in result.stdout


def test_export_json_lists_variables(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    created = mysql_source(
        client, "SRC_MySQL", canary("pw"), space_id=tenant.space_id()
    )

    result = run("export", "--json")

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["variables"] == [
        {
            "name": "QTC_SECRET_SRC_MYSQL_PASSWORD",
            "connection": "SRC_MySQL",
            "space": "Data Integration",
            "property": "password",
            "holds": "secret",
        }
    ]
    assert body["connections"][0]["id"] == created.id
    assert body["out"] is None
    assert body["manifest"].startswith("# Data connections exported from")


def test_export_out_file(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    mysql_source(client, "SRC_MySQL", canary("pw"), space_id=tenant.space_id())
    out = tmp_path / "connections.yaml"

    first = run("export", "--out", str(out))
    second = run("export", "--out", str(out))
    forced = run("export", "--out", str(out), "--force")

    assert first.exit_code == 0, first.output
    assert first.stdout == ""
    assert f"exported 1 connection to {out}" in first.stderr
    assert list(_entries(out.read_text())) == ["SRC_MySQL"]
    assert second.exit_code == 1
    assert "already exists" in second.stderr
    assert forced.exit_code == 0, forced.output
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_export_empty_space(run: Runner, tenant: TenantFixture) -> None:
    result = run("export")

    assert result.exit_code == 0, result.output
    assert _manifest(result.stdout) == {"version": 1, "connections": []}
    assert "#   (none)" in result.stdout


def test_export_leaks_no_secret(
    run: Runner,
    client: QlikClient,
    tenant: TenantFixture,
    tmp_path: Path,
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    keys = write_key_material(tmp_path, rsa_private_key)
    password = canary("mysql")
    mysql_source(client, "SRC_MySQL", password, space_id=tenant.space_id())
    key_value = b64(keys.encrypted_key.read_bytes())
    snowflake_target(
        client,
        "TGT_Snowflake",
        [{"name": "k.p8", "value": key_value}],
        keys.passphrase,
        space_id=tenant.space_id(),
    )
    out = tmp_path / "out.yaml"

    result = run("--debug", "export", "--json", "--out", str(out))

    assert result.exit_code == 0, result.output
    values = [password, key_value, *keys.canaries, admin_key(tenant)]
    assert leaked_fragments(result, values) == []
    written = out.read_text()
    assert [value for value in values if value in written] == []


def test_both_space_options_rejected(run: Runner) -> None:
    result = run("export", "--space", "Data Integration", "--all-spaces")

    assert result.exit_code == 2
    assert "not both" in result.stderr
