"""``qtc rotate --generate-key``: a new Snowflake key pair, rotated and verified."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cli_support import TenantFixture, b64, canary, leaked_fragments, settled_writes
from client_support import reset_journal
from cryptography.hazmat.primitives import serialization
from sync_cli_support import Runner, mysql_source, snowflake_target, sync_runner

from qtc_connections.client import QlikClient

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

OLD_KEY = [{"name": "snowflake_rsa_key.p8", "value": b64(b"old key")}]


@pytest.fixture
def run(tenant: TenantFixture, tmp_path: Path, monkeypatch) -> Runner:
    return sync_runner(tenant, tmp_path, monkeypatch)


def _public_key_of(path: Path, passphrase: str) -> str:
    key = serialization.load_pem_private_key(
        path.read_bytes(), password=passphrase.encode()
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def test_generated_key_rotation_verified(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    created = snowflake_target(
        client, "TGT_Snowflake", OLD_KEY, canary("old"), space_id=tenant.space_id()
    )
    passphrase = canary("new-passphrase")
    key_path = tmp_path / "new_rsa_key.p8"

    result = run(
        "rotate",
        "TGT_Snowflake",
        "--generate-key",
        str(key_path),
        "--passphrase",
        "env:NEW_PASSPHRASE",
        env={"NEW_PASSPHRASE": passphrase},
        input="y\n",
    )

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    public_key = _public_key_of(key_path, passphrase)
    assert f"ALTER USER QTC_LOADER SET RSA_PUBLIC_KEY_2='{public_key}';" in (
        result.stdout
    )
    assert "ALTER USER QTC_LOADER UNSET RSA_PUBLIC_KEY;" in result.stdout
    assert "public key fingerprint: SHA256:" in result.stdout
    assert "Rotate TGT_Snowflake to the new key now?" in result.stderr

    emulator = tenant.server.emulator
    content = b64(key_path.read_bytes())
    assert emulator.secret_matches(created.id, "privateKeyFile", content)
    assert emulator.secret_matches(created.id, "privateKeyPassphrase", passphrase)
    assert leaked_fragments(result, [passphrase, key_path.read_text(), content]) == []


def test_generated_key_json_output(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    snowflake_target(
        client, "TGT_Json", OLD_KEY, canary("old"), space_id=tenant.space_id()
    )
    passphrase = canary("passphrase")
    key_path = tmp_path / "key.p8"

    result = run(
        "rotate",
        "TGT_Json",
        "--generate-key",
        str(key_path),
        "--passphrase",
        "env:NEW_PASSPHRASE",
        "--yes",
        "--json",
        env={"NEW_PASSPHRASE": passphrase},
    )

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["results"][0]["status"] == "verified"
    assert body["results"][0]["properties"] == [
        "privateKeyPassphrase",
        "privateKeyFile",
    ]
    assert body["key"]["path"] == str(key_path)
    assert body["key"]["public_key"] == _public_key_of(key_path, passphrase)
    assert body["key"]["user"] == "QTC_LOADER"
    assert "cannot connect until the statement has run" in result.stderr
    assert leaked_fragments(result, [passphrase, key_path.read_text()]) == []


def test_declined_rotation_keeps_connection(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    created = snowflake_target(
        client, "TGT_Declined", OLD_KEY, canary("old"), space_id=tenant.space_id()
    )
    reset_journal(tenant.server.emulator)
    key_path = tmp_path / "key.p8"

    result = run(
        "rotate",
        "TGT_Declined",
        "--generate-key",
        str(key_path),
        "--passphrase",
        "env:NEW_PASSPHRASE",
        env={"NEW_PASSPHRASE": canary("passphrase")},
        input="n\n",
    )

    assert result.exit_code == 1
    assert "RSA_PUBLIC_KEY_2" in result.stdout
    assert key_path.exists()
    assert settled_writes(tenant) == []
    emulator = tenant.server.emulator
    assert emulator.secret_matches(created.id, "privateKeyFile", OLD_KEY[0]["value"])


def test_existing_key_file_is_kept(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    snowflake_target(
        client, "TGT_Exists", OLD_KEY, canary("old"), space_id=tenant.space_id()
    )
    key_path = tmp_path / "key.p8"
    key_path.write_text("keep me")

    result = run(
        "rotate",
        "TGT_Exists",
        "--generate-key",
        str(key_path),
        "--passphrase",
        "env:NEW_PASSPHRASE",
        "--yes",
        env={"NEW_PASSPHRASE": canary("passphrase")},
    )

    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert "--force" in result.stderr
    assert key_path.read_text() == "keep me"


def test_generate_key_needs_snowflake(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    mysql_source(client, "SRC_MySQL", canary("pw"), space_id=tenant.space_id())
    key_path = tmp_path / "key.p8"

    result = run(
        "rotate",
        "SRC_MySQL",
        "--generate-key",
        str(key_path),
        "--passphrase",
        "env:NEW_PASSPHRASE",
        "--yes",
        env={"NEW_PASSPHRASE": canary("passphrase")},
    )

    assert result.exit_code == 1
    assert "has no encrypted private key property" in result.stderr
    assert not key_path.exists()


def test_generate_key_needs_one_connection(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    for name in ("TGT_Snow_1", "TGT_Snow_2"):
        snowflake_target(
            client, name, OLD_KEY, canary("old"), space_id=tenant.space_id()
        )

    result = run(
        "rotate",
        "--kind",
        "snowflake-target",
        "--generate-key",
        str(tmp_path / "key.p8"),
        "--passphrase",
        "env:NEW_PASSPHRASE",
        "--yes",
        env={"NEW_PASSPHRASE": canary("passphrase")},
    )

    assert result.exit_code == 1
    assert "rotates one connection, but 2 are selected" in result.stderr
    assert not (tmp_path / "key.p8").exists()


def test_generated_key_conflicts_with_flags(
    run: Runner, client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    snowflake_target(
        client, "TGT_Conflict", OLD_KEY, canary("old"), space_id=tenant.space_id()
    )

    result = run(
        "rotate",
        "TGT_Conflict",
        "--generate-key",
        str(tmp_path / "key.p8"),
        "--passphrase",
        "env:NEW_PASSPHRASE",
        "--secret",
        "privateKeyPassphrase=env:NEW_PASSPHRASE",
        env={"NEW_PASSPHRASE": canary("passphrase")},
    )

    assert result.exit_code == 2
    assert "leave them out of --key-file and --secret" in result.stderr
    assert not (tmp_path / "key.p8").exists()
