"""An apply killed part-way, then run again, ends with each connection once.

``qtc apply`` runs as a real process against the session's emulator and is
killed with SIGKILL, which no handler can catch, once a few connections
exist. The re-run must create only the rest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apply_support import RUNNER, names_in_space
from cli_support import GATEWAY_ID, TenantFixture, admin_key, canary

from qtc_connections.client import QlikClient
from qtc_connections.sync.state import StateFile

CONNECTION_COUNT = 30
KILL_AFTER = 5
# Five writes a second: slow enough to kill the run part-way.
SLOW_WRITES_PER_MINUTE = "300"
FAST_WRITES_PER_MINUTE = "60000"
TIMEOUT_SECONDS = 60

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="SIGKILL is a POSIX signal"
)


def write_manifest(path: Path, names: list[str]) -> Path:
    lines = [
        "version: 1",
        "defaults:",
        "  space: Data Integration",
        f"  gateway: {GATEWAY_ID}",
        "connections:",
    ]
    for name in names:
        lines += [
            f"  - name: {name}",
            "    kind: mysql-source",
            "    properties: {server: mysql.dev.internal, username: qtc_reader}",
            "    secrets: {password: env:QTC_TEST_MYSQL_PASSWORD}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def qtc_environment(tenant: TenantFixture, tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QTC_")}
    environment.update(
        QTC_HOSTNAME=tenant.url,
        QTC_TOKEN=admin_key(tenant),
        QTC_CONFIG=str(tmp_path / "no-profiles.toml"),
        QTC_FINGERPRINT_KEY_FILE=str(tmp_path / "fingerprint.key"),
        QTC_TEST_MYSQL_PASSWORD=canary("interrupted-password"),
    )
    return environment


def qtc_command(*args: str) -> list[str]:
    return [sys.executable, "-c", RUNNER, *args]


def wait_for_connections(
    client: QlikClient, space_id: str, count: int, process: subprocess.Popen[str]
) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while len(names_in_space(client, space_id)) < count:
        if process.poll() is not None:
            raise AssertionError(f"apply ended early with code {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} connections after a minute")
        time.sleep(0.05)


def test_killed_apply_resumes_once(
    tenant: TenantFixture, client: QlikClient, tmp_path: Path
) -> None:
    names = [f"SRC_{index:02d}" for index in range(CONNECTION_COUNT)]
    manifest = write_manifest(tmp_path / "connections.yaml", names)
    environment = qtc_environment(tenant, tmp_path)
    space_id = tenant.space_id()
    apply_args = ("apply", str(manifest), "--yes", "--concurrency", "2")

    process = subprocess.Popen(
        qtc_command(*apply_args, "--max-writes-per-minute", SLOW_WRITES_PER_MINUTE),
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_for_connections(client, space_id, KILL_AFTER, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(TIMEOUT_SECONDS)
    interrupted = names_in_space(client, space_id)
    state_path = manifest.parent / ".qtc-state.json"
    # Every save replaces the file whole, so it parses whenever it exists.
    saved = StateFile.load(state_path)
    rerun = subprocess.run(
        qtc_command(*apply_args, "--max-writes-per-minute", FAST_WRITES_PER_MINUTE),
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    final_plan = subprocess.run(
        qtc_command("plan", str(manifest), "--detailed-exitcode"),
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )

    assert process.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(interrupted) < CONNECTION_COUNT
    assert len(saved.keys()) <= len(interrupted)
    assert rerun.returncode == 0, rerun.stderr
    assert names_in_space(client, space_id) == names
    assert final_plan.returncode == 0, final_plan.stdout + final_plan.stderr
    state = json.loads(state_path.read_text())
    assert sorted(entry["name"] for entry in state["connections"]) == names
