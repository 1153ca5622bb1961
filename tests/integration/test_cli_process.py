"""The installed ``qtc`` script as a process: exit codes and output streams.

``CliRunner`` runs click's standalone mode, while the script goes through
``qtc_connections.cli.main.main``, which maps errors to exit codes itself.
These tests run the script against the emulator to cover that mapping.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import GATEWAY_ID, TenantFixture, admin_key, canary, settled_requests

QTC = Path(sys.executable).with_name("qtc")
TIMEOUT_SECONDS = 60

pytestmark = pytest.mark.skipif(
    not QTC.exists(), reason="the qtc script is not installed next to this Python"
)


def run_qtc(
    tenant: TenantFixture, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the ``qtc`` script with only the settings a user would export."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QTC_")}
    environment.update(
        QTC_HOSTNAME=tenant.url,
        QTC_TOKEN=admin_key(tenant),
        QTC_SPACE_ID="Data Integration",
        QTC_GATEWAY_ID=GATEWAY_ID,
        QTC_CONFIG=str(tmp_path / "no-profiles.toml"),
    )
    environment.update(env)
    return subprocess.run(
        [str(QTC), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_script_success_exits_zero(tenant: TenantFixture, tmp_path: Path) -> None:
    completed = run_qtc(tenant, tmp_path, "spaces", "resolve", "Data Integration", "-q")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "022b8b9a1222d5f5374aa45b\n"
    assert completed.stderr == ""


def test_script_input_error_exits_one(tenant: TenantFixture, tmp_path: Path) -> None:
    completed = run_qtc(
        tenant, tmp_path, "connections", "create", "--kind", "nope", "--name", "X"
    )

    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr == (
        "Error: unknown connection kind 'nope'. Run 'qtc kinds list' to see "
        "every kind.\n"
    )


def test_script_usage_error_exits_two(tenant: TenantFixture, tmp_path: Path) -> None:
    completed = run_qtc(tenant, tmp_path, "connections", "create", "--name", "X")

    assert completed.returncode == 2
    assert completed.stderr.splitlines()[0] == "Usage: qtc connections create [OPTIONS]"
    assert completed.stderr.splitlines()[-1] == (
        "Error: give exactly one of --kind or --data-source"
    )


def test_script_doctor_failure_exits_one(tenant: TenantFixture, tmp_path: Path) -> None:
    token = canary("script-token")

    completed = run_qtc(tenant, tmp_path, "--debug", "doctor", QTC_TOKEN=token)

    assert completed.returncode == 1
    assert "fail    token" in completed.stdout
    assert "check QTC_TOKEN" in completed.stdout
    assert token not in completed.stdout + completed.stderr


def test_script_literal_secret_exits_one(tenant: TenantFixture, tmp_path: Path) -> None:
    literal = canary("script-literal")

    completed = run_qtc(
        tenant,
        tmp_path,
        "connections",
        "create",
        "--kind",
        "mysql-source",
        "--name",
        "SRC_Script",
        "--set",
        "server=db.internal",
        "--set",
        "username=qtc",
        "--secret",
        f"password={literal}",
    )

    assert completed.returncode == 1
    assert completed.stderr.startswith("Error: secret for password is not a reference")
    assert literal not in completed.stdout + completed.stderr
    assert settled_requests(tenant) == []
