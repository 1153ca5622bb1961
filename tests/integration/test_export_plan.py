"""An exported manifest loads, and ``qtc plan`` finds nothing to change with it.

The tenant gets connections of several shapes: catalog kinds with
Data Movement, Qlik-managed and no gateway, key files, raw data sources
and awkward names. After ``qtc export``, the variables it lists are set,
and the plan must be all no-ops, whose only remarks are secrets that have
no fingerprint in the (new) state yet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import (
    GATEWAY_ID,
    QLIK_MANAGED_GATEWAY,
    KeyMaterial,
    TenantFixture,
    b64,
    canary,
    leaked_fragments,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa
from sync_cli_support import (
    Runner,
    create_connection,
    mysql_source,
    snowflake_target,
    sync_runner,
)

from qtc_connections.cli.commands.plan import plan
from qtc_connections.client import QlikClient
from qtc_connections.manifest.loader import load_manifest

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

AWKWARD_NAME = 'SRC: "odd" ${HOME} #1'


@pytest.fixture
def run(tenant: TenantFixture, tmp_path: Path, monkeypatch) -> Runner:
    return sync_runner(tenant, tmp_path, monkeypatch, plan)


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    folder = tmp_path / "keys"
    folder.mkdir()
    return write_key_material(folder, rsa_private_key)


def _seed(client: QlikClient, tenant: TenantFixture, keys: KeyMaterial) -> None:
    space_id = tenant.space_id()
    mysql_source(
        client, "SRC_MySQL", canary("pw"), space_id=space_id, tags=("team-sales",)
    )
    mysql_source(client, AWKWARD_NAME, canary("pw"), space_id=space_id)
    create_connection(
        client,
        "TGT_S3",
        "reptgt_qdis3",
        {
            "agentId": QLIK_MANAGED_GATEWAY,
            "bucketName": "qtc-landing",
            "useAwsPrivateLink": True,
            "s3AccessKey": canary("ak"),
            "s3SecretKey": canary("sk"),
        },
        space_id=space_id,
    )
    snowflake_target(
        client,
        "TGT_Snowflake",
        [
            {
                "name": "snowflake_rsa_key.p8",
                "value": b64(keys.encrypted_key.read_bytes()),
            }
        ],
        keys.passphrase,
        space_id=space_id,
    )
    create_connection(
        client,
        "TGT_BigQuery",
        "reptgt_qdibigquery",
        {
            "datasetLocation": "US",
            "jsonCredentials": [
                {
                    "name": "service-account.json",
                    "value": b64(keys.service_account.read_bytes()),
                }
            ],
        },
        space_id=space_id,
    )
    create_connection(
        client,
        "DG_Orders",
        "DG_postgres",
        {
            "gatewayInstance": "c4Vn8sTq1ZpL6wXe3RjK9mGy2BhD5fUa::gateway",
            "host": "orders.internal",
            "port": "5432",
            "database": "orders",
            "username": "reader",
            "password": canary("dg"),
        },
        space_id=space_id,
    )


def _variable_values(body: dict[str, Any], keys: KeyMaterial) -> dict[str, str | None]:
    """Give every exported variable a value that the plan can read."""
    values: dict[str, str | None] = {}
    for variable in body["variables"]:
        if variable["holds"] == "secret":
            is_passphrase = variable["property"] == "privateKeyPassphrase"
            values[variable["name"]] = keys.passphrase if is_passphrase else canary("v")
        elif variable["property"] == "privateKeyFile":
            values[variable["name"]] = str(keys.encrypted_key)
        else:
            values[variable["name"]] = str(keys.service_account)
    return values


def _export(run: Runner, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "manifest" / "connections.yaml"
    out.parent.mkdir()
    result = run("export", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_export_loads_as_manifest(
    run: Runner,
    client: QlikClient,
    tenant: TenantFixture,
    tmp_path: Path,
    keys: KeyMaterial,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed(client, tenant, keys)
    out, body = _export(run, tmp_path)
    # The loader resolves key file paths, so their variables must be set.
    for name, value in _variable_values(body, keys).items():
        if name.startswith("QTC_KEY_FILE_") and value is not None:
            monkeypatch.setenv(name, value)

    manifest = load_manifest(out)

    by_name = {entry.name: entry for entry in manifest.connections}
    assert sorted(by_name) == sorted(entry["name"] for entry in body["connections"])
    assert AWKWARD_NAME in by_name
    assert {entry.space for entry in manifest.connections} == {"Data Integration"}
    assert by_name["SRC_MySQL"].gateway_id == GATEWAY_ID
    assert by_name["SRC_MySQL"].tags == ("team-sales",)
    assert by_name["DG_Orders"].kind.data_source_id == "DG_postgres"
    assert str(by_name["SRC_MySQL"].secrets["password"]) == (
        "env:QTC_SECRET_SRC_MYSQL_PASSWORD"
    )
    key_file = by_name["TGT_Snowflake"].key_files["privateKeyFile"]
    assert key_file.path == keys.encrypted_key


def test_plan_after_export_is_empty(
    run: Runner,
    client: QlikClient,
    tenant: TenantFixture,
    tmp_path: Path,
    keys: KeyMaterial,
) -> None:
    _seed(client, tenant, keys)
    out, body = _export(run, tmp_path)
    env = _variable_values(body, keys)
    env["QTC_FINGERPRINT_KEY_FILE"] = str(tmp_path / "fingerprint.key")

    result = run("plan", str(out), "--json", "--detailed-exitcode", env=env)

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["summary"] == {
        "create": 0,
        "update": 0,
        "delete": 0,
        "no-op": 6,
        "unmanaged": 0,
    }
    for change in document["changes"]:
        assert change["action"] == "no-op", change
        assert "properties" not in change, change
        assert "tags" not in change, change
        statuses = {secret["status"] for secret in change.get("secrets", {}).values()}
        assert statuses <= {"unknown"}, change
    reported = sum(len(change.get("secrets", {})) for change in document["changes"])
    assert reported == len(body["variables"])
    secrets = [value for name, value in env.items() if name.startswith("QTC_SECRET_")]
    assert leaked_fragments(result, [*secrets, *keys.canaries]) == []
