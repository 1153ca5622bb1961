"""Plan and apply against the emulator: creates, updates, no-ops and the state."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from apply_support import (
    SPACE,
    Secrets,
    SyncRun,
    actions,
    change_named,
    journal_mark,
    manifest_of,
    mysql_source,
    names_in_space,
    s3_target,
    snowflake_target,
    statuses,
    write_encrypted_key,
    writes_since,
)
from cli_support import TenantFixture

from qtc_connections.client import QlikClient
from qtc_connections.sync.plan import Action, SecretStatus


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    values = Secrets(monkeypatch)
    values.set_defaults()
    return values


@pytest.fixture
def run(client: QlikClient, tmp_path: Path) -> SyncRun:
    return SyncRun(client, tmp_path)


@pytest.fixture
def key_path(tmp_path: Path, secrets: Secrets) -> Path:
    passphrase = secrets.values["QTC_TEST_SNOWFLAKE_PASSPHRASE"]
    return write_encrypted_key(tmp_path / "snowflake_rsa_key.p8", passphrase)


def test_apply_from_empty_creates_all(
    run: SyncRun,
    tenant: TenantFixture,
    secrets: Secrets,
    key_path: Path,
) -> None:
    manifest = manifest_of(
        mysql_source("SRC_MySQL", tags=("team-sales",)),
        s3_target("TGT_S3"),
        snowflake_target("TGT_Snowflake", key_path),
    )

    plan, result = run.apply(manifest)

    assert actions(plan) == {
        "SRC_MySQL": "create",
        "TGT_S3": "create",
        "TGT_Snowflake": "create",
    }
    assert statuses(result) == {
        "SRC_MySQL": "created",
        "TGT_S3": "created",
        "TGT_Snowflake": "created",
    }
    space_id = tenant.space_id()
    assert names_in_space(run.client, space_id) == [
        "SRC_MySQL",
        "TGT_S3",
        "TGT_Snowflake",
    ]
    mysql = run.client.connections.get_by_name(
        "SRC_MySQL", space_id=space_id, parse_connection=True
    )
    assert mysql.connection_properties is not None
    assert mysql.connection_properties["server"] == "mysql.dev.internal"
    assert mysql.connection_properties["port"] == "3306"
    assert mysql.connection_properties["agentId"] == "gw-test-0001"
    assert "team-sales" in mysql.tags
    emulator = tenant.server.emulator
    password = secrets.values["QTC_TEST_MYSQL_PASSWORD"]
    assert emulator.secret_matches(mysql.id, "password", password)


def test_apply_records_state_file(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    run.apply(manifest_of(mysql_source("SRC_MySQL")))

    document = json.loads(run.state_path.read_text())
    [entry] = document["connections"]
    assert document["tenant"] == run.client.tenant.hostname
    assert entry["space_id"] == tenant.space_id()
    assert entry["name"] == "SRC_MySQL"
    assert entry["fingerprints"]["password"].startswith("hmac-sha256:")
    assert stat.S_IMODE(run.state_path.stat().st_mode) == 0o600
    assert secrets.values["QTC_TEST_MYSQL_PASSWORD"] not in run.state_path.read_text()


def test_reapply_sends_no_writes(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets, key_path: Path
) -> None:
    manifest = manifest_of(
        mysql_source("SRC_MySQL", tags=("team-sales",)),
        s3_target("TGT_S3"),
        snowflake_target("TGT_Snowflake", key_path),
    )
    run.apply(manifest)
    start = journal_mark(tenant)

    plan, result = run.apply(manifest)

    assert not plan.has_changes
    assert set(actions(plan).values()) == {"no-op"}
    assert result.outcomes == ()
    assert writes_since(tenant, start) == []


def test_changed_property_sends_one_patch(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    run.apply(manifest_of(mysql_source("SRC_MySQL")))
    start = journal_mark(tenant)

    plan, result = run.apply(manifest_of(mysql_source("SRC_MySQL", username="loader")))

    change = change_named(plan, "SRC_MySQL")
    assert change.action is Action.UPDATE
    assert [(p.name, p.old, p.new) for p in change.properties] == [
        ("username", "qtc_reader", "loader")
    ]
    assert [s.send for s in change.secrets] == [False]
    connection_id = change.connection_id
    assert writes_since(tenant, start) == [
        f"PATCH /api/v1/data-connections/{connection_id}"
    ]
    assert statuses(result) == {"SRC_MySQL": "updated"}


def test_changed_secret_is_detected(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(mysql_source("SRC_MySQL"))
    run.apply(manifest)
    rotated = secrets.set("QTC_TEST_MYSQL_PASSWORD", "rotated")
    start = journal_mark(tenant)

    plan, result = run.apply(manifest)

    change = change_named(plan, "SRC_MySQL")
    assert change.action is Action.UPDATE
    assert change.properties == ()
    [secret] = change.secrets
    assert secret.status is SecretStatus.CHANGED
    assert secret.send
    assert len(writes_since(tenant, start)) == 1
    assert statuses(result) == {"SRC_MySQL": "updated"}
    emulator = tenant.server.emulator
    assert emulator.secret_matches(change.connection_id, "password", rotated)


def test_changed_key_file_is_detected(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets, key_path: Path
) -> None:
    manifest = manifest_of(snowflake_target("TGT_Snowflake", key_path))
    run.apply(manifest)
    write_encrypted_key(key_path, secrets.values["QTC_TEST_SNOWFLAKE_PASSPHRASE"])

    plan = run.plan(manifest)

    change = change_named(plan, "TGT_Snowflake")
    status = {s.name: (s.status, s.send) for s in change.secrets}
    assert change.action is Action.UPDATE
    assert status["privateKeyFile"] == (SecretStatus.CHANGED, True)
    assert status["privateKeyPassphrase"] == (SecretStatus.UNCHANGED, False)


def test_lost_state_gives_unknown_secrets(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(mysql_source("SRC_MySQL"), s3_target("TGT_S3"))
    run.apply(manifest)
    run.state_path.unlink()
    start = journal_mark(tenant)

    plan, result = run.apply(manifest)

    assert not plan.has_changes
    unknown = {c.name: c.unknown_secrets for c in plan.changes}
    assert unknown == {
        "SRC_MySQL": ["password"],
        "TGT_S3": ["s3AccessKey", "s3SecretKey"],
    }
    assert any("No state file" in note for note in plan.notes)
    assert any("--resend-secrets" in note for note in plan.notes)
    assert writes_since(tenant, start) == []
    assert result.outcomes == ()


def test_lost_state_has_no_perpetual_diff(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(mysql_source("SRC_MySQL"))
    run.apply(manifest)
    run.state_path.unlink()
    run.apply(manifest)

    resent, result = run.apply(manifest, resend_secrets=True)
    after = run.plan(manifest)

    [secret] = change_named(resent, "SRC_MySQL").secrets
    assert (secret.status, secret.send) == (SecretStatus.UNKNOWN, True)
    assert statuses(result) == {"SRC_MySQL": "updated"}
    [settled] = change_named(after, "SRC_MySQL").secrets
    assert settled.status is SecretStatus.UNCHANGED
    assert not after.has_changes
    assert after.notes == ()


def test_lost_state_keeps_connection_ids(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(mysql_source("SRC_MySQL"))
    run.apply(manifest)
    created = run.client.connections.get_by_name(
        "SRC_MySQL", space_id=tenant.space_id()
    )
    run.state_path.unlink()

    run.apply(manifest)

    [entry] = json.loads(run.state_path.read_text())["connections"]
    assert entry["id"] == created.id
    assert entry["fingerprints"] == {}


def test_address_change_resends_credentials(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    run.apply(manifest_of(mysql_source("SRC_MySQL")))

    plan, result = run.apply(manifest_of(mysql_source("SRC_MySQL", server="db2")))

    [secret] = change_named(plan, "SRC_MySQL").secrets
    assert (secret.status, secret.send) == (SecretStatus.UNCHANGED, True)
    assert secret.reason == "sent because the address changes"
    assert statuses(result) == {"SRC_MySQL": "updated"}


def test_tag_change_keeps_service_tag(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    run.apply(manifest_of(mysql_source("SRC_MySQL", tags=("team-sales",))))
    start = journal_mark(tenant)

    plan, result = run.apply(manifest_of(mysql_source("SRC_MySQL", tags=("ops",))))

    change = change_named(plan, "SRC_MySQL")
    assert change.tags is not None
    assert (change.tags.old, change.tags.new) == (("team-sales",), ("ops",))
    assert len(writes_since(tenant, start)) == 1
    current = run.client.connections.get(change.connection_id or "")
    assert "ops" in current.tags
    assert "team-sales" not in current.tags
    assert any(tag.startswith("DcaasAPI:") for tag in current.tags)
    assert statuses(result) == {"SRC_MySQL": "updated"}


def test_secret_rotation_then_noop(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(mysql_source("SRC_MySQL"))
    run.apply(manifest)
    secrets.set("QTC_TEST_MYSQL_PASSWORD", "rotated")
    run.apply(manifest)

    plan = run.plan(manifest)

    assert not plan.has_changes
    assert actions(plan) == {"SRC_MySQL": "no-op"}


def test_recreated_connection_forgets_fingerprints(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(mysql_source("SRC_MySQL"))
    run.apply(manifest)
    old_id = change_named(run.plan(manifest), "SRC_MySQL").connection_id
    run.client.connections.delete(old_id or "")
    run.apply(manifest)

    plan = run.plan(manifest)

    change = change_named(plan, "SRC_MySQL")
    assert change.connection_id != old_id
    assert [s.status for s in change.secrets] == [SecretStatus.UNCHANGED]


def test_plan_orders_changes_by_name(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(
        mysql_source("SRC_b", password_variable="QTC_TEST_MYSQL_PASSWORD"),
        mysql_source("SRC_a"),
        s3_target("A_S3"),
    )

    plan = run.plan(manifest)

    assert [change.name for change in plan.changes] == ["A_S3", "SRC_a", "SRC_b"]
    assert all(change.space_name == SPACE for change in plan.changes)
