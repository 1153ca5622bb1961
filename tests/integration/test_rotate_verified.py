"""``qtc rotate`` against the emulator: verified rotations, failures and leaks.

Each rotation is checked on the tenant itself with
``secret_matches``, not only through the command's own report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import (
    TenantFixture,
    admin_key,
    b64,
    canary,
    leaked_fragments,
    settled_writes,
    write_key_material,
)
from client_support import reset_journal
from cryptography.hazmat.primitives.asymmetric import rsa
from sync_cli_support import (
    Runner,
    create_connection,
    mysql_source,
    snowflake_target,
    sync_runner,
)

from qtc_connections.client import QlikClient
from qtc_connections.emulator.faults import FaultRule

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

CONNECTIONS = "/api/v1/data-connections"


@pytest.fixture
def run(tenant: TenantFixture, tmp_path: Path, monkeypatch) -> Runner:
    return sync_runner(tenant, tmp_path, monkeypatch)


def _results(output: str) -> dict[str, dict[str, object]]:
    return {item["name"]: item for item in json.loads(output)["results"]}


def test_rotate_password_verified(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    old, new = canary("old-password"), canary("new-password")
    created = mysql_source(
        client, "SRC_MySQL", old, space_id=tenant.space_id(), tags=("team-sales",)
    )

    result = run(
        "rotate",
        "SRC_MySQL",
        "--secret",
        "password=env:NEW_MYSQL_PASSWORD",
        "--json",
        env={"NEW_MYSQL_PASSWORD": new},
    )

    assert result.exit_code == 0, result.output
    outcome = _results(result.stdout)["SRC_MySQL"]
    assert outcome["status"] == "verified"
    assert outcome["properties"] == ["password"]
    assert outcome["updated_after"] > outcome["updated_before"]
    emulator = tenant.server.emulator
    assert emulator.secret_matches(created.id, "password", new)
    assert not emulator.secret_matches(created.id, "password", old)


def test_rotate_sends_one_patch(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    created = mysql_source(client, "SRC_One", canary("old"), space_id=tenant.space_id())
    before = client.connections.get(created.id, parse_connection=True)
    reset_journal(tenant.server.emulator)

    result = run(
        "rotate",
        created.id,
        "--secret",
        "password=env:NEW_SECRET",
        env={"NEW_SECRET": canary("new")},
    )

    assert result.exit_code == 0, result.output
    writes = settled_writes(tenant)
    assert [(w.method, w.path) for w in writes] == [
        ("PATCH", f"{CONNECTIONS}/{created.id}")
    ]
    after = client.connections.get(created.id, parse_connection=True)
    assert after.connection_properties == before.connection_properties
    assert after.tags == before.tags
    assert after.name == before.name


def test_rotate_keeps_other_secrets(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    access, old_secret, new_secret = canary("ak"), canary("sk-old"), canary("sk-new")
    created = create_connection(
        client,
        "TGT_S3",
        "reptgt_qdis3",
        {
            "agentId": "$$qlikManagedGateway$$",
            "bucketName": "qtc-landing",
            "s3AccessKey": access,
            "s3SecretKey": old_secret,
        },
        space_id=tenant.space_id(),
    )
    emulator = tenant.server.emulator
    access_digest = emulator.secret_digest(created.id, "s3AccessKey")

    result = run(
        "rotate",
        "TGT_S3",
        "--secret",
        "s3SecretKey=env:NEW_S3_SECRET",
        env={"NEW_S3_SECRET": new_secret},
    )

    assert result.exit_code == 0, result.output
    assert emulator.secret_matches(created.id, "s3SecretKey", new_secret)
    assert emulator.secret_digest(created.id, "s3AccessKey") == access_digest
    assert emulator.secret_matches(created.id, "s3AccessKey", access)


def test_rotate_key_file_and_passphrase(
    run: Runner,
    client: QlikClient,
    tenant: TenantFixture,
    tmp_path: Path,
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    new_keys = write_key_material(tmp_path, rsa_private_key)
    old_file = [{"name": "snowflake_rsa_key.p8", "value": b64(b"old key")}]
    created = snowflake_target(
        client, "TGT_Snowflake", old_file, canary("old"), space_id=tenant.space_id()
    )

    result = run(
        "rotate",
        "TGT_Snowflake",
        "--key-file",
        f"privateKeyFile={new_keys.encrypted_key}",
        "--secret",
        "privateKeyPassphrase=env:NEW_PASSPHRASE",
        env={"NEW_PASSPHRASE": new_keys.passphrase},
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("verified")
    emulator = tenant.server.emulator
    new_content = b64(new_keys.encrypted_key.read_bytes())
    assert emulator.secret_matches(created.id, "privateKeyFile", new_content)
    assert emulator.secret_matches(
        created.id, "privateKeyPassphrase", new_keys.passphrase
    )
    assert leaked_fragments(result, [*new_keys.canaries, new_content]) == []


def test_passphrase_without_key_fails(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    old_file = [{"name": "snowflake_rsa_key.p8", "value": b64(b"old key")}]
    snowflake_target(
        client, "TGT_Snow", old_file, canary("pass"), space_id=tenant.space_id()
    )
    reset_journal(tenant.server.emulator)

    result = run(
        "rotate",
        "TGT_Snow",
        "--secret",
        "privateKeyPassphrase=env:NEW_PASSPHRASE",
        env={"NEW_PASSPHRASE": canary("new-pass")},
    )

    assert result.exit_code == 1
    assert "rotate both together" in result.stdout
    assert "--key-file privateKeyFile=PATH" in result.stdout
    assert settled_writes(tenant) == []


def test_plain_property_is_rejected(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    mysql_source(client, "SRC_Plain", canary("pw"), space_id=tenant.space_id())
    reset_journal(tenant.server.emulator)

    result = run(
        "rotate",
        "SRC_Plain",
        "--secret",
        "username=env:NEW_USER",
        "--json",
        env={"NEW_USER": canary("user")},
    )

    assert result.exit_code == 1
    outcome = _results(result.stdout)["SRC_Plain"]
    assert outcome["status"] == "failed"
    assert "username is not a secret property" in str(outcome["reason"])
    assert "nothing was changed" in str(outcome["reason"])
    assert settled_writes(tenant) == []


def test_rotate_kind_several_verified(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    space_id = tenant.space_id()
    created = [
        mysql_source(client, f"SRC_Many_{index}", canary("old"), space_id=space_id)
        for index in range(3)
    ]
    create_connection(
        client,
        "TGT_Not_MySQL",
        "reptgt_qdis3",
        {
            "agentId": "$$qlikManagedGateway$$",
            "bucketName": "b",
            "s3AccessKey": canary("ak"),
            "s3SecretKey": canary("sk"),
        },
        space_id=space_id,
    )
    new = canary("shared-new")

    result = run(
        "rotate",
        "--kind",
        "mysql-source",
        "--secret",
        "password=env:NEW_PASSWORD",
        "--yes",
        "--json",
        env={"NEW_PASSWORD": new},
    )

    assert result.exit_code == 0, result.output
    results = _results(result.stdout)
    assert sorted(results) == ["SRC_Many_0", "SRC_Many_1", "SRC_Many_2"]
    assert {item["status"] for item in results.values()} == {"verified"}
    for connection in created:
        assert tenant.server.emulator.secret_matches(connection.id, "password", new)


def test_several_need_confirmation(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    space_id = tenant.space_id()
    for index in range(2):
        mysql_source(client, f"SRC_Ask_{index}", canary("old"), space_id=space_id)
    reset_journal(tenant.server.emulator)

    result = run(
        "rotate",
        "--filter",
        'qName sw "SRC_Ask_"',
        "--secret",
        "password=env:NEW_PASSWORD",
        env={"NEW_PASSWORD": canary("new")},
        input="n\n",
    )

    assert result.exit_code == 1
    assert "rotate password on 2 connections:" in result.stderr
    assert "SRC_Ask_0" in result.stderr
    assert settled_writes(tenant) == []


def test_one_failure_does_not_stop_rest(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    space_id = tenant.space_id()
    first = mysql_source(client, "SRC_Batch_A", canary("old"), space_id=space_id)
    denied = mysql_source(client, "SRC_Batch_B", canary("old"), space_id=space_id)
    last = mysql_source(client, "SRC_Batch_C", canary("old"), space_id=space_id)
    tenant.server.emulator.add_fault(
        FaultRule(
            kind="status",
            method="PATCH",
            path_prefix=f"{CONNECTIONS}/{denied.id}",
            status=403,
        )
    )
    new = canary("new")

    result = run(
        "rotate",
        "--filter",
        'qName sw "SRC_Batch_"',
        "--secret",
        "password=env:NEW_PASSWORD",
        "--yes",
        "--json",
        env={"NEW_PASSWORD": new},
    )

    assert result.exit_code == 1
    results = _results(result.stdout)
    assert results["SRC_Batch_A"]["status"] == "verified"
    assert results["SRC_Batch_B"]["status"] == "failed"
    assert "PATCH failed: 403" in str(results["SRC_Batch_B"]["reason"])
    assert results["SRC_Batch_C"]["status"] == "verified"
    emulator = tenant.server.emulator
    assert emulator.secret_matches(first.id, "password", new)
    assert not emulator.secret_matches(denied.id, "password", new)
    assert emulator.secret_matches(last.id, "password", new)
    assert json.loads(result.stdout)["summary"] == {
        "verified": 2,
        "unverified": 0,
        "failed": 1,
    }


def test_table_output_and_summary(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    created = mysql_source(
        client, "SRC_Table", canary("old"), space_id=tenant.space_id()
    )

    result = run(
        "rotate",
        "SRC_Table",
        "--secret",
        "password=env:NEW_PASSWORD",
        env={"NEW_PASSWORD": canary("new")},
    )

    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["STATUS", "CONNECTION", "ID", "DETAIL"]
    assert row.split()[:5] == [
        "verified",
        "SRC_Table",
        created.id,
        "updated",
        "advanced",
    ]
    assert result.stderr.strip() == "1 verified, 0 unverified, 0 failed"


def test_no_match_is_an_error(run: Runner, tenant: TenantFixture) -> None:
    result = run(
        "rotate",
        "--filter",
        'qName eq "NOPE"',
        "--secret",
        "password=env:NEW_PASSWORD",
        env={"NEW_PASSWORD": canary("new")},
    )

    assert result.exit_code == 1
    assert "matches filter" in result.stderr
    assert settled_writes(tenant) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--secret", "password=env:X"], "give a connection id or name"),
        (["SRC", "--kind", "mysql-source", "--secret", "password=env:X"], "not both"),
        (["SRC"], "nothing to rotate"),
        (["SRC", "--generate-key", "k.p8"], "--generate-key needs --passphrase"),
        (["SRC", "--secret", "a=env:X", "--passphrase", "env:X"], "goes with"),
        (["SRC", "--secret", "a=env:X", "--force"], "--force replaces"),
    ],
)
def test_usage_errors(
    run: Runner, tenant: TenantFixture, args: list[str], message: str
) -> None:
    result = run("rotate", *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert tenant.requests() == []


def test_debug_rotation_leaks_nothing(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    old, new = canary("old-secret"), canary("new-secret")
    mysql_source(client, "SRC_Leak", old, space_id=tenant.space_id())

    result = run(
        "--debug",
        "rotate",
        "SRC_Leak",
        "--secret",
        "password=env:NEW_PASSWORD",
        "--json",
        env={"NEW_PASSWORD": new},
    )

    assert result.exit_code == 0, result.output
    assert "PATCH" in result.stderr
    assert leaked_fragments(result, [old, new, admin_key(tenant)]) == []


def test_secret_read_from_stdin(
    run: Runner, client: QlikClient, tenant: TenantFixture
) -> None:
    created = mysql_source(
        client, "SRC_Stdin", canary("old"), space_id=tenant.space_id()
    )
    new = canary("stdin")

    result = run("rotate", "SRC_Stdin", "--secret", "password=-", input=f"{new}\n")

    assert result.exit_code == 0, result.output
    assert tenant.server.emulator.secret_matches(created.id, "password", new)
    assert leaked_fragments(result, [new]) == []
