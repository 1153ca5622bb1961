"""``qtc plan`` and ``qtc apply`` in-process: output, exit codes and saved plans."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from apply_support import journal_mark, sync_commands_registered
from cli_support import (
    TenantFixture,
    canary,
    error_lines,
    settled_requests,
    settled_writes,
)
from click.testing import Result

from qtc_connections.client import QlikClient
from qtc_connections.emulator import FaultRule

MANIFEST = """\
version: 1
defaults:
  space: Data Integration
  gateway: gw-test-0001
connections:
{entries}
"""

ENTRY = """\
  - name: {name}
    kind: mysql-source
    tags: [team-sales]
    properties:
      server: mysql.dev.internal
      username: {username}
    secrets:
      password: env:QTC_TEST_MYSQL_PASSWORD
"""


@pytest.fixture(autouse=True)
def sync_commands() -> Iterator[None]:
    with sync_commands_registered():
        yield


@pytest.fixture
def password() -> str:
    return canary("mysql-password")


@pytest.fixture
def sync(
    qtc: Callable[..., Result], tmp_path: Path, password: str
) -> Callable[..., Result]:
    """Run ``qtc`` with this test's fingerprint key and the password variable."""
    env = {
        "QTC_FINGERPRINT_KEY_FILE": str(tmp_path / "fingerprint.key"),
        "QTC_TEST_MYSQL_PASSWORD": password,
    }

    def run(*args: str, input: str | None = None) -> Result:
        return qtc(*args, env=env, input=input)

    return run


def write_manifest(path: Path, *names: str, username: str = "qtc_reader") -> Path:
    entries = "".join(ENTRY.format(name=name, username=username) for name in names)
    path.write_text(MANIFEST.format(entries=entries.rstrip("\n")))
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path / "connections.yaml", "SRC_MySQL")


def test_plan_prints_create_block(sync: Callable[..., Result], manifest: Path) -> None:
    result = sync("plan", str(manifest))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "+ create SRC_MySQL (mysql-source) in space 'Data Integration'"
    assert '    server: "mysql.dev.internal"' in lines
    assert '    port: "3306"' in lines
    assert '    tags: ["team-sales"]' in lines
    assert "    password: (sensitive) (secret)" in lines
    assert lines[-1] == "Creates=1, Updates=0, Deletes=0, Unchanged=0, Unmanaged=0"


def test_plan_writes_nothing(
    sync: Callable[..., Result], manifest: Path, tenant: TenantFixture
) -> None:
    sync("plan", str(manifest))

    assert settled_writes(tenant) == []
    assert not (manifest.parent / ".qtc-state.json").exists()


def test_detailed_exitcode_reports_changes(
    sync: Callable[..., Result], manifest: Path
) -> None:
    before = sync("plan", str(manifest), "--detailed-exitcode")
    sync("apply", str(manifest), "--yes")
    after = sync("plan", str(manifest), "--detailed-exitcode")

    assert before.exit_code == 2
    assert after.exit_code == 0, after.output
    assert after.stdout.splitlines()[-1] == (
        "Creates=0, Updates=0, Deletes=0, Unchanged=1, Unmanaged=0"
    )


def test_apply_yes_creates_connection(
    sync: Callable[..., Result],
    manifest: Path,
    tenant: TenantFixture,
    client: QlikClient,
) -> None:
    result = sync("apply", str(manifest), "--yes")

    assert result.exit_code == 0, result.output
    created = client.connections.get_by_name("SRC_MySQL", space_id=tenant.space_id())
    assert f"created SRC_MySQL in space 'Data Integration' (id {created.id})" in (
        result.stdout
    )
    assert result.stdout.splitlines()[-1] == (
        "Apply finished: 1 created, 0 updated, 0 deleted, 0 failed."
    )
    assert "[1/1] created SRC_MySQL" in result.stderr
    assert (manifest.parent / ".qtc-state.json").exists()


def test_apply_twice_reports_no_changes(
    sync: Callable[..., Result], manifest: Path, tenant: TenantFixture
) -> None:
    sync("apply", str(manifest), "--yes")
    start = journal_mark(tenant)

    result = sync("apply", str(manifest))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "No changes."
    writes = [e for e in settled_requests(tenant)[start:] if e.method != "GET"]
    assert writes == []


def test_apply_without_terminal_fails(
    sync: Callable[..., Result], manifest: Path, tenant: TenantFixture
) -> None:
    result = sync("apply", str(manifest), input="y\n")

    assert result.exit_code == 1
    assert error_lines(result) == [
        (
            "Error: standard input is not a terminal, so the plan cannot be "
            "confirmed; pass --yes to apply without asking"
        )
    ]
    assert settled_writes(tenant) == []


def test_state_option_moves_state(
    sync: Callable[..., Result], manifest: Path, tmp_path: Path
) -> None:
    state = tmp_path / "elsewhere" / "prod-state.json"

    result = sync("apply", str(manifest), "--yes", "--state", str(state))

    assert result.exit_code == 0, result.output
    assert state.exists()
    assert not (manifest.parent / ".qtc-state.json").exists()


def test_plan_json_hides_secrets(
    sync: Callable[..., Result], manifest: Path, password: str
) -> None:
    result = sync("plan", str(manifest), "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [change] = document["changes"]
    assert change["action"] == "create"
    assert change["properties"]["username"] == {"new": "qtc_reader"}
    assert change["secrets"]["password"] == {
        "status": "new",
        "send": True,
        "value": "(sensitive)",
    }
    assert document["summary"]["create"] == 1
    assert document["checksum"].startswith("sha256:")
    assert document["inputs"]["files"] == [str(manifest.resolve())]
    assert password not in result.stdout


def test_saved_plan_applies_without_asking(
    sync: Callable[..., Result],
    manifest: Path,
    tmp_path: Path,
    tenant: TenantFixture,
    client: QlikClient,
) -> None:
    saved = tmp_path / "plan.json"
    sync("plan", str(manifest), "--out", str(saved))

    result = sync("apply", "--plan", str(saved))

    assert result.exit_code == 0, result.output
    names = [c.name for c in client.connections.list(space_id=tenant.space_id())]
    assert names == ["SRC_MySQL"]


def test_saved_plan_refused_after_tenant_change(
    sync: Callable[..., Result],
    manifest: Path,
    tmp_path: Path,
    tenant: TenantFixture,
    client: QlikClient,
) -> None:
    sync("apply", str(manifest), "--yes")
    write_manifest(manifest, "SRC_MySQL", username="loader")
    saved = tmp_path / "plan.json"
    sync("plan", str(manifest), "--out", str(saved))
    current = client.connections.get_by_name("SRC_MySQL", space_id=tenant.space_id())
    client.connections.patch(
        current.id, [{"op": "replace", "path": "/tags", "value": ["changed"]}]
    )
    start = journal_mark(tenant)

    result = sync("apply", "--plan", str(saved))

    assert result.exit_code == 1
    [error] = error_lines(result)
    assert error.startswith(
        f"Error: the saved plan {saved} no longer matches: the tenant or the "
        "manifest changed since it was made"
    )
    assert error.endswith("nothing was written. Run qtc plan again.")
    writes = [e for e in settled_requests(tenant)[start:] if e.method != "GET"]
    assert writes == []


def test_saved_plan_refused_after_new_connection(
    sync: Callable[..., Result],
    manifest: Path,
    tmp_path: Path,
    tenant: TenantFixture,
    client: QlikClient,
) -> None:
    saved = tmp_path / "plan.json"
    sync("plan", str(manifest), "--out", str(saved))
    client.connections.create(
        name="SRC_Other",
        data_source_id="repsrc_mysql",
        connection_properties={
            "agentId": "gw-test-0001",
            "server": "other.internal",
            "username": "other",
            "password": canary("other-password"),
        },
        space_id=tenant.space_id(),
    )

    result = sync("apply", "--plan", str(saved))

    assert result.exit_code == 1
    assert "no longer matches" in result.stderr


def test_saved_plan_refused_after_manifest_change(
    sync: Callable[..., Result], manifest: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    sync("plan", str(manifest), "--out", str(saved))
    write_manifest(manifest, "SRC_MySQL", username="loader")

    result = sync("apply", "--plan", str(saved))

    assert result.exit_code == 1
    assert "no longer matches" in result.stderr


def test_saved_plan_rejects_plan_options(
    sync: Callable[..., Result], manifest: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    sync("plan", str(manifest), "--out", str(saved))

    result = sync("apply", "--plan", str(saved), "--prune")

    assert result.exit_code == 2
    assert "come from the plan file" in result.stderr


def test_plan_without_files_is_usage_error(sync: Callable[..., Result]) -> None:
    result = sync("plan")

    assert result.exit_code == 2
    assert "give one or more manifest files or folders" in result.stderr


def test_invalid_var_is_usage_error(
    sync: Callable[..., Result], manifest: Path
) -> None:
    result = sync("plan", str(manifest), "--var", "no-equals-sign")

    assert result.exit_code == 2
    assert "give NAME=VALUE" in result.stderr


def test_failed_connection_exits_one(
    sync: Callable[..., Result], tmp_path: Path, tenant: TenantFixture
) -> None:
    manifest = write_manifest(tmp_path / "m.yaml", "SRC_A", "SRC_B")
    tenant.server.emulator.add_fault(
        FaultRule(
            kind="status",
            method="POST",
            path_prefix="/api/v1/data-connections",
            status=403,
        )
    )

    result = sync("apply", str(manifest), "--yes", "--concurrency", "1")

    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == (
        "Apply finished: 1 created, 0 updated, 0 deleted, 1 failed."
    )
    assert "failed SRC_A in space 'Data Integration': 403 Forbidden" in result.stdout


def test_plan_reports_invalid_manifest_values(
    sync: Callable[..., Result], tmp_path: Path, tenant: TenantFixture
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        MANIFEST.format(
            entries=ENTRY.format(name="SRC_Bad", username="qtc")
            .replace(
                "      server: mysql.dev.internal\n",
                "      server: mysql\n      sslMode: prefer\n",
            )
            .rstrip("\n")
        )
    )

    result = sync("plan", str(path))

    assert result.exit_code == 1
    assert "sslMode is 'prefer', which is not an allowed value" in result.stderr
    assert settled_writes(tenant) == []


def test_apply_json_lists_outcomes(
    sync: Callable[..., Result], manifest: Path, tenant: TenantFixture
) -> None:
    result = sync("apply", str(manifest), "--yes", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [outcome] = document["outcomes"]
    assert outcome["name"] == "SRC_MySQL"
    assert outcome["status"] == "created"
    assert document["counts"]["created"] == 1
    assert document["plan"]["summary"]["create"] == 1
    assert "+ create SRC_MySQL" in result.stderr
