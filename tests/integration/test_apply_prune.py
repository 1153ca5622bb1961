"""Connections that no manifest file declares: deleted with prune, else unmanaged."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import (
    OTHER_SPACE,
    Secrets,
    SyncRun,
    actions,
    journal_mark,
    manifest_of,
    mysql_source,
    names_in_space,
    statuses,
    writes_since,
)
from cli_support import GATEWAY_ID, TenantFixture, canary

from qtc_connections.client import QlikClient
from qtc_connections.sync.plan import render_plan


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    values = Secrets(monkeypatch)
    values.set_defaults()
    return values


@pytest.fixture
def run(client: QlikClient, tmp_path: Path) -> SyncRun:
    return SyncRun(client, tmp_path)


def create_outside(client: QlikClient, name: str, space_id: str) -> str:
    """Create a MySQL source directly, as another tool or a user would."""
    created = client.connections.create(
        name=name,
        data_source_id="repsrc_mysql",
        connection_properties={
            "agentId": GATEWAY_ID,
            "server": "legacy.internal",
            "username": "legacy",
            "password": canary("outside-password"),
        },
        space_id=space_id,
    )
    return created.id


def test_prune_deletes_only_listed(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    space_id = tenant.space_id()
    other_space_id = tenant.space_id(OTHER_SPACE)
    run.apply(manifest_of(mysql_source("SRC_MySQL"), mysql_source("SRC_Old")))
    create_outside(run.client, "LEGACY_1", space_id)
    create_outside(run.client, "ELSEWHERE", other_space_id)
    manifest = manifest_of(mysql_source("SRC_MySQL"))

    plan = run.plan(manifest, prune=True)
    deletes = sorted(c.name for c in plan.changes if c.action.value == "delete")
    _, result = run.apply(manifest, prune=True)

    assert deletes == ["SRC_Old"]
    assert actions(plan)["LEGACY_1"] == "unmanaged"
    assert statuses(result) == {"SRC_Old": "deleted"}
    assert names_in_space(run.client, space_id) == ["LEGACY_1", "SRC_MySQL"]
    assert names_in_space(run.client, other_space_id) == ["ELSEWHERE"]


def test_prune_spares_other_manifests(
    client: QlikClient, tenant: TenantFixture, secrets: Secrets, tmp_path: Path
) -> None:
    first = SyncRun(client, tmp_path / "first")
    second = SyncRun(client, tmp_path / "second")
    first.apply(manifest_of(mysql_source("SRC_First")))
    second.apply(manifest_of(mysql_source("SRC_Second")))

    plan = first.plan(manifest_of(mysql_source("SRC_First")), prune=True)

    assert actions(plan)["SRC_Second"] == "unmanaged"
    assert not plan.has_changes


def test_prune_deletes_after_creates(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    run.apply(manifest_of(mysql_source("AAA_Old")))
    start = journal_mark(tenant)

    run.apply(manifest_of(mysql_source("SRC_MySQL")), prune=True)

    methods = [entry.split(" ")[0] for entry in writes_since(tenant, start)]
    assert methods == ["POST", "DELETE"]


def test_unmanaged_are_listed_untouched(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    space_id = tenant.space_id()
    legacy_id = create_outside(run.client, "LEGACY_1", space_id)
    manifest = manifest_of(mysql_source("SRC_MySQL"))

    plan, result = run.apply(manifest)

    assert actions(plan) == {"LEGACY_1": "unmanaged", "SRC_MySQL": "create"}
    assert statuses(result) == {"SRC_MySQL": "created"}
    assert names_in_space(run.client, space_id) == ["LEGACY_1", "SRC_MySQL"]
    text = render_plan(plan)
    assert (
        f"? unmanaged LEGACY_1 (mysql-source) in space 'Data Integration', id {legacy_id}"
        in text
    )
    assert text.splitlines()[-1] == (
        "Creates=1, Updates=0, Deletes=0, Unchanged=0, Unmanaged=1"
    )


def test_unmanaged_get_no_writes(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    create_outside(run.client, "LEGACY_1", tenant.space_id())
    manifest = manifest_of(mysql_source("SRC_MySQL"))
    run.apply(manifest)
    start = journal_mark(tenant)

    plan, _ = run.apply(manifest)

    assert not plan.has_changes
    assert writes_since(tenant, start) == []


def test_prune_forgets_deleted_state(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    run.apply(manifest_of(mysql_source("SRC_A"), mysql_source("SRC_B")))

    run.apply(manifest_of(mysql_source("SRC_A")), prune=True)

    assert [key.name for key in run.state().keys()] == ["SRC_A"]


def test_kind_change_rejected_before_writes(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    from dataclasses import replace

    from qtc_connections.catalog import get_kind
    from qtc_connections.errors import ValidationError

    run.apply(manifest_of(mysql_source("SRC_Switch")))
    start = journal_mark(tenant)
    changed = replace(mysql_source("SRC_Switch"), kind=get_kind("mysql-target"))

    with pytest.raises(ValidationError) as caught:
        run.plan(manifest_of(changed))

    assert "is a repsrc_mysql connection on the tenant" in str(caught.value)
    assert "declares reptgt_qdimysql" in str(caught.value)
    assert writes_since(tenant, start) == []
