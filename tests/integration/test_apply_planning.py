"""How a plan reads the tenant, and what it rejects before any write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from apply_support import (
    SPACE,
    Secrets,
    SyncRun,
    actions,
    change_named,
    env_secret,
    journal_mark,
    manifest_of,
    mysql_source,
    statuses,
)
from cli_support import GATEWAY_ID, TenantFixture, settled_requests

from qtc_connections.catalog import raw_kind
from qtc_connections.client import QlikClient
from qtc_connections.errors import ConfigError, InputError, ValidationError
from qtc_connections.manifest.loader import load_manifest
from qtc_connections.manifest.model import DesiredConnection, Location


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    values = Secrets(monkeypatch)
    values.set_defaults()
    return values


@pytest.fixture
def run(client: QlikClient, tmp_path: Path) -> SyncRun:
    return SyncRun(client, tmp_path)


def analytics_s3(name: str, bucket: str = "analytics-bucket") -> DesiredConnection:
    """A data source outside the catalog, given by its raw id."""
    return DesiredConnection(
        name=name,
        kind=raw_kind("File_AmazonS3ConnectorV2"),
        space=SPACE,
        gateway_id=GATEWAY_ID,
        properties={"bucketName": bucket, "region": "eu-west-1"},
        secrets={
            "accessKey": env_secret("accessKey", "QTC_TEST_S3_ACCESS_KEY"),
            "secretKey": env_secret("secretKey", "QTC_TEST_S3_SECRET_KEY"),
        },
    )


def test_plan_reads_tenant_sparingly(
    run: SyncRun,
    tenant: TenantFixture,
    secrets: Secrets,
    make_client: Callable[..., QlikClient],
) -> None:
    manifest = manifest_of(
        mysql_source("SRC_A"), mysql_source("SRC_B"), mysql_source("SRC_C")
    )
    run.apply(manifest)
    # A new client has an empty api-specs cache, as a new run would.
    fresh = SyncRun(make_client(), run.tmp_path)
    start = journal_mark(tenant)

    fresh.plan(manifest)

    requests = [f"{e.method} {e.path}" for e in settled_requests(tenant)[start:]]
    reads = [r for r in requests if r.startswith("GET /api/v1/data-connections/")]
    assert requests.count("GET /api/v1/spaces") == 1
    assert requests.count("GET /api/v1/data-connections") == 1
    assert requests.count("GET /api/v1/data-sources/repsrc_mysql/api-specs") == 1
    assert len(reads) == 3
    assert len(requests) == 6


def test_raw_data_source_converges(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(analytics_s3("S3_Analytics"))

    first, result = run.apply(manifest)
    second = run.plan(manifest)

    created = change_named(first, "S3_Analytics")
    assert created.kind_name == "raw:File_AmazonS3ConnectorV2"
    # The schema has no agentId, so the manifest's gateway is not sent.
    assert "agentId" not in {p.name for p in created.properties}
    assert sorted(s.name for s in created.secrets) == ["accessKey", "secretKey"]
    assert statuses(result) == {"S3_Analytics": "created"}
    assert actions(second) == {"S3_Analytics": "no-op"}


def test_space_from_default_space(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    entry = mysql_source("SRC_A", space="")

    plan = run.plan(manifest_of(entry), default_space=SPACE)

    assert change_named(plan, "SRC_A").key.space_id == tenant.space_id()


def test_missing_space_is_rejected(run: SyncRun, secrets: Secrets) -> None:
    with pytest.raises(InputError) as raised:
        run.plan(manifest_of(mysql_source("SRC_A", space="")))

    assert "names no space" in str(raised.value)


def test_space_by_id_and_name_collide(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    by_name = mysql_source("SRC_A")
    by_id = mysql_source("SRC_A", space=tenant.space_id())

    with pytest.raises(ValidationError) as raised:
        run.plan(manifest_of(by_name, by_id))

    [problem] = raised.value.problems
    assert "is also declared at" in problem
    assert "for the same space 022b8b9a1222d5f5374aa45b; declare it once" in problem


def test_invalid_entries_are_all_listed(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets, tmp_path: Path
) -> None:
    where = Location(tmp_path / "connections.yaml", 7, 5)
    bad_enum = DesiredConnection(
        name="SRC_Enum",
        kind=mysql_source("x").kind,
        space=SPACE,
        gateway_id=GATEWAY_ID,
        properties={"server": "db", "username": "u", "sslMode": "prefer"},
        secrets={"password": env_secret("password", "QTC_TEST_MYSQL_PASSWORD")},
        location=where,
    )
    unset = mysql_source("SRC_Unset", password_variable="QTC_TEST_NOT_SET")
    unknown = DesiredConnection(
        name="SRC_Unknown", kind=raw_kind("repsrc_nosuchsource"), space=SPACE
    )
    start = journal_mark(tenant)

    with pytest.raises(ValidationError) as raised:
        run.plan(manifest_of(bad_enum, unset, unknown))

    problems = raised.value.problems
    assert len(problems) == 3
    assert problems[0].startswith(
        f"{where}: connection 'SRC_Enum' (mysql-source): sslMode is 'prefer'"
    )
    assert "environment variable QTC_TEST_NOT_SET is not set" in problems[1]
    assert problems[2].startswith(
        "(no location): connection 'SRC_Unknown': 404 Not Found on GET"
    )
    assert not [e for e in settled_requests(tenant)[start:] if e.method != "GET"]


def test_secret_in_wrong_place_is_rejected(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    entry = DesiredConnection(
        name="SRC_A",
        kind=mysql_source("x").kind,
        space=SPACE,
        gateway_id=GATEWAY_ID,
        properties={"server": "db", "username": "u", "password": "plain"},
    )

    with pytest.raises(ValidationError) as raised:
        run.plan(manifest_of(entry))

    assert "password is a secret; move it under secrets as a reference" in str(
        raised.value
    )


def test_state_of_other_tenant_is_rejected(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    run.state_path.parent.mkdir(parents=True)
    run.state_path.write_text(
        '{"version": 1, "tenant": "other.example", "connections": []}'
    )

    with pytest.raises(ConfigError) as raised:
        run.plan(manifest_of(mysql_source("SRC_A")))

    assert "belongs to tenant other.example" in str(raised.value)


def test_plan_problems_at_property_lines(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets, tmp_path: Path
) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(
        "version: 1\n"
        "connections:\n"
        "  - name: SRC_A\n"
        "    kind: mysql-source\n"
        f"    space: {SPACE}\n"
        f"    gateway: {GATEWAY_ID}\n"
        "    properties:\n"
        "      server: db\n"
        "      username: u\n"
        "      sslMode: prefer\n"
        "    secrets:\n"
        "      password: env:QTC_TEST_NOT_SET\n"
    )
    manifest = load_manifest(path)

    with pytest.raises(ValidationError) as raised:
        run.plan(manifest)

    unset, bad_enum = raised.value.problems
    assert unset.startswith(f"{path}, line 12, column 7: connection 'SRC_A': ")
    assert "environment variable QTC_TEST_NOT_SET is not set" in unset
    assert bad_enum.startswith(
        f"{path}, line 10, column 7: connection 'SRC_A' (mysql-source): "
        "sslMode is 'prefer'"
    )


def test_plan_reports_key_file_behind_passphrase(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets, tmp_path: Path
) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(
        "version: 1\n"
        "connections:\n"
        "  - name: TGT_Snowflake\n"
        "    kind: snowflake-target\n"
        f"    space: {SPACE}\n"
        "    properties:\n"
        "      server: acct.snowflakecomputing.com\n"
        "      warehouse: LOAD_WH\n"
        "      username: LOADER\n"
        "      databaseQcsString: RAW\n"
        "    secrets:\n"
        "      privateKeyPassphrase: env:QTC_TEST_NOT_SET\n"
        "    key_files:\n"
        "      privateKeyFile: missing.p8\n"
    )
    manifest = load_manifest(path)

    with pytest.raises(ValidationError) as raised:
        run.plan(manifest)

    problems = raised.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{path}, line 12, column 7: ")
    assert "QTC_TEST_NOT_SET is not set" in problems[0]
    assert problems[1].startswith(f"{path}, line 14, column 7: ")
    assert "missing.p8" in problems[1]
