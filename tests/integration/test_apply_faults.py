"""Apply when the tenant fails: one connection's failure, lost responses, read-backs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from apply_support import (
    Secrets,
    SyncRun,
    actions,
    change_named,
    journal_mark,
    manifest_of,
    mysql_source,
    names_in_space,
    statuses,
    writes_since,
)
from cli_support import TenantFixture

from qtc_connections.client import QlikClient
from qtc_connections.emulator import FaultRule
from qtc_connections.manifest.model import Manifest
from qtc_connections.sync.plan import SecretStatus

CONNECTIONS = "/api/v1/data-connections"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    values = Secrets(monkeypatch)
    values.set_defaults()
    return values


@pytest.fixture
def run(client: QlikClient, tmp_path: Path) -> SyncRun:
    return SyncRun(client, tmp_path)


def three_sources() -> Manifest:
    return manifest_of(
        mysql_source("SRC_A"), mysql_source("SRC_B"), mysql_source("SRC_C")
    )


def test_one_failure_spares_the_rest(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", method="POST", path_prefix=CONNECTIONS, status=400)
    )

    _, result = run.apply(three_sources(), concurrency=1)

    assert statuses(result) == {
        "SRC_A": "failed",
        "SRC_B": "created",
        "SRC_C": "created",
    }
    [failed] = result.failed
    assert failed.detail.startswith("400 Bad Request on POST")
    assert names_in_space(run.client, tenant.space_id()) == ["SRC_B", "SRC_C"]


def test_failed_create_is_planned_again(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", method="POST", path_prefix=CONNECTIONS, status=400)
    )
    run.apply(three_sources(), concurrency=1)

    plan, result = run.apply(three_sources())

    assert actions(plan) == {"SRC_A": "create", "SRC_B": "no-op", "SRC_C": "no-op"}
    assert statuses(result) == {"SRC_A": "created"}
    assert names_in_space(run.client, tenant.space_id()) == ["SRC_A", "SRC_B", "SRC_C"]


def test_lost_create_response_no_duplicate(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="drop_after_commit", method="POST", path_prefix=CONNECTIONS)
    )

    _, first = run.apply(three_sources())
    start = journal_mark(tenant)
    again, second = run.apply(three_sources())

    assert statuses(first) == {
        "SRC_A": "created",
        "SRC_B": "created",
        "SRC_C": "created",
    }
    assert names_in_space(run.client, tenant.space_id()) == ["SRC_A", "SRC_B", "SRC_C"]
    assert not again.has_changes
    assert second.outcomes == ()
    assert writes_since(tenant, start) == []


def test_lost_create_keeps_fingerprints(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="drop_after_commit", method="POST", path_prefix=CONNECTIONS)
    )
    run.apply(manifest_of(mysql_source("SRC_A")))

    plan = run.plan(manifest_of(mysql_source("SRC_A")))

    [secret] = change_named(plan, "SRC_A").secrets
    assert secret.status is SecretStatus.UNCHANGED


def test_lost_patch_response_converges(
    run: SyncRun, tenant: TenantFixture, secrets: Secrets
) -> None:
    manifest = manifest_of(mysql_source("SRC_A"))
    run.apply(manifest)
    rotated = secrets.set("QTC_TEST_MYSQL_PASSWORD", "rotated")
    tenant.server.emulator.add_fault(
        FaultRule(kind="drop_after_commit", method="PATCH", path_prefix=CONNECTIONS)
    )

    _, lost = run.apply(manifest)
    _, repeated = run.apply(manifest)
    settled = run.plan(manifest)

    assert statuses(lost) == {"SRC_A": "failed"}
    assert statuses(repeated) == {"SRC_A": "updated"}
    assert not settled.has_changes
    connection_id = change_named(settled, "SRC_A").connection_id or ""
    assert tenant.server.emulator.secret_matches(connection_id, "password", rotated)


class ReadBackRewriter(httpx.HTTPTransport):
    """Forwards to the emulator, but reports another username on read-back.

    No real tenant can be asked to drop a written value, so this transport
    alters the parsed properties of the GET that apply reads back with.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "GET" or b"parseConnection" not in request.url.query:
            return response
        body = json.loads(response.read())
        body["connectionProperties"]["username"] = "someone-else"
        headers = {"content-type": "application/json"}
        return httpx.Response(response.status_code, headers=headers, json=body)


def test_readback_mismatch_fails_connection(
    make_client: Callable[..., QlikClient],
    tenant: TenantFixture,
    secrets: Secrets,
    tmp_path: Path,
) -> None:
    run = SyncRun(make_client(transport=ReadBackRewriter()), tmp_path)

    _, result = run.apply(manifest_of(mysql_source("SRC_A")))

    [outcome] = result.outcomes
    assert outcome.status.value == "failed"
    assert outcome.connection_id is not None
    assert outcome.detail == (
        "created, but the tenant did not keep every value: username is "
        "'someone-else', expected 'qtc_reader'"
    )
