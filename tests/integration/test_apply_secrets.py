"""Canary secrets never appear in plans, logs, the state file or errors.

Resolving a secret registers it with ``qtc_connections.redact``, and the
CLI redacts everything it prints. So the library checks here read text
that has not been through redaction (``Exception.__str__``, log records
captured without the CLI's filter, files on disk), where a leak would
show.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from apply_support import (
    Secrets,
    SyncRun,
    manifest_of,
    mysql_source,
    s3_target,
    snowflake_target,
    sync_commands_registered,
    write_encrypted_key,
)
from cli_support import TenantFixture, canary, leaked_fragments, secret_fragments
from click.testing import Result

from qtc_connections.client import QlikClient
from qtc_connections.emulator import FaultRule
from qtc_connections.errors import ValidationError
from qtc_connections.manifest.model import Manifest
from qtc_connections.sync.plan import render_plan


@pytest.fixture(autouse=True)
def sync_commands() -> Iterator[None]:
    with sync_commands_registered():
        yield


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    values = Secrets(monkeypatch)
    values.set_defaults()
    return values


@pytest.fixture
def key_path(tmp_path: Path, secrets: Secrets) -> Path:
    passphrase = secrets.values["QTC_TEST_SNOWFLAKE_PASSPHRASE"]
    return write_encrypted_key(tmp_path / "snowflake_rsa_key.p8", passphrase)


@pytest.fixture
def canaries(secrets: Secrets, key_path: Path) -> list[str]:
    """Every secret text of the manifest: the values and the key file's lines."""
    return secret_fragments([*secrets.values.values(), key_path.read_text()])


def found_in(text: str, canaries: list[str]) -> list[str]:
    return [fragment for fragment in canaries if fragment in text]


def full_manifest(key_path: Path) -> Manifest:
    return manifest_of(
        mysql_source("SRC_MySQL"),
        s3_target("TGT_S3"),
        snowflake_target("TGT_Snowflake", key_path),
    )


def test_plan_output_has_no_secrets(
    client: QlikClient,
    tmp_path: Path,
    key_path: Path,
    secrets: Secrets,
) -> None:
    run = SyncRun(client, tmp_path)
    manifest = full_manifest(key_path)
    run.apply(manifest)
    secrets.set("QTC_TEST_MYSQL_PASSWORD", "rotated")
    run.state_path.unlink()
    canaries = secret_fragments([*secrets.values.values(), key_path.read_text()])

    built = run.plan(manifest, resend_secrets=True)

    assert built.has_changes
    assert found_in(json.dumps(built.to_json()), canaries) == []
    assert found_in(render_plan(built, verbose=True), canaries) == []
    assert found_in(repr(built), canaries) == []


def test_state_file_has_no_secrets(
    client: QlikClient,
    tmp_path: Path,
    key_path: Path,
    secrets: Secrets,
    canaries: list[str],
) -> None:
    run = SyncRun(client, tmp_path)

    run.apply(full_manifest(key_path))

    text = run.state_path.read_text()
    assert found_in(text, canaries) == []
    for value in secrets.values.values():
        # An unkeyed digest would let anyone with the file test guesses.
        assert hashlib.sha256(value.encode()).hexdigest() not in text


def test_debug_logs_have_no_secrets(
    client: QlikClient,
    tmp_path: Path,
    key_path: Path,
    canaries: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = SyncRun(client, tmp_path)

    with caplog.at_level(logging.DEBUG, logger="qtc_connections"):
        run.apply(full_manifest(key_path))

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST" in logged
    assert found_in(logged, canaries) == []


def test_key_file_error_has_no_secrets(
    client: QlikClient,
    tmp_path: Path,
    key_path: Path,
    secrets: Secrets,
) -> None:
    wrong = secrets.set("QTC_TEST_SNOWFLAKE_PASSPHRASE", "wrong-passphrase")
    run = SyncRun(client, tmp_path)

    with pytest.raises(ValidationError) as raised:
        run.plan(full_manifest(key_path))

    message = Exception.__str__(raised.value)
    assert "could not be decrypted: the passphrase is wrong" in message
    assert wrong not in message
    assert found_in(message, secret_fragments([key_path.read_text()])) == []


def test_failed_write_error_has_no_secrets(
    client: QlikClient,
    tmp_path: Path,
    tenant: TenantFixture,
    key_path: Path,
    canaries: list[str],
) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", method="POST", status=500, count=None)
    )
    run = SyncRun(client, tmp_path)

    _, result = run.apply(full_manifest(key_path))

    details = "\n".join(outcome.detail for outcome in result.failed)
    assert len(result.failed) == 3
    assert found_in(details, canaries) == []


def test_cli_runs_have_no_secrets(
    qtc: Callable[..., Result],
    tmp_path: Path,
    key_path: Path,
    secrets: Secrets,
    restore_cli_logging: None,
) -> None:
    manifest = tmp_path / "connections.yaml"
    manifest.write_text(
        "version: 1\n"
        "defaults: {space: Data Integration, gateway: gw-test-0001}\n"
        "connections:\n"
        "  - name: SRC_MySQL\n"
        "    kind: mysql-source\n"
        "    properties: {server: mysql.dev.internal, username: qtc_reader}\n"
        "    secrets: {password: env:QTC_TEST_MYSQL_PASSWORD}\n"
        "  - name: TGT_Snowflake\n"
        "    kind: snowflake-target\n"
        "    properties: {server: acct.snowflakecomputing.com, warehouse: W,\n"
        "                 username: LOADER, databaseQcsString: DB}\n"
        "    secrets: {privateKeyPassphrase: env:QTC_TEST_SNOWFLAKE_PASSPHRASE}\n"
        f"    key_files: {{privateKeyFile: {key_path.name}}}\n"
    )
    env = {
        "QTC_FINGERPRINT_KEY_FILE": str(tmp_path / "fingerprint.key"),
        **secrets.values,
    }
    saved = tmp_path / "plan.json"
    values = [*secrets.values.values(), key_path.read_text()]

    runs = [
        qtc("--debug", "plan", str(manifest), "--out", str(saved), env=env),
        qtc("--debug", "plan", str(manifest), "--json", env=env),
        qtc("--debug", "apply", "--plan", str(saved), env=env),
        qtc("--debug", "apply", str(manifest), "--yes", "-v", env=env),
    ]

    assert [run.exit_code for run in runs] == [0, 0, 0, 0]
    assert [leaked_fragments(run, values) for run in runs] == [[], [], [], []]
    files = saved.read_text() + (tmp_path / ".qtc-state.json").read_text()
    assert found_in(files, secret_fragments(values)) == []


def test_literal_secret_in_manifest_not_echoed(
    qtc: Callable[..., Result], tmp_path: Path
) -> None:
    literal = canary("literal-password")
    manifest = tmp_path / "connections.yaml"
    manifest.write_text(
        "version: 1\n"
        "connections:\n"
        "  - name: SRC_MySQL\n"
        "    kind: mysql-source\n"
        "    space: Data Integration\n"
        "    gateway: gw-test-0001\n"
        "    properties: {server: mysql.dev.internal, username: qtc_reader}\n"
        f"    secrets: {{password: {literal}}}\n"
    )

    result = qtc(
        "plan",
        str(manifest),
        env={"QTC_FINGERPRINT_KEY_FILE": str(tmp_path / "fingerprint.key")},
    )

    assert result.exit_code == 1
    assert literal not in result.output
    assert literal not in result.stderr
