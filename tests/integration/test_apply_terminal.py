"""``qtc apply`` on a real terminal: the confirmation prompt and the progress bar.

The process gets a pseudo-terminal as standard input (and, for the
progress bar, as standard error), which is what a user's shell gives it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apply_support import RUNNER, names_in_space
from cli_support import GATEWAY_ID, TenantFixture, admin_key, canary

from qtc_connections.client import QlikClient

pty = pytest.importorskip("pty")

TIMEOUT_SECONDS = 60
HIDE_CURSOR = "\x1b[?25l"

MANIFEST = f"""\
version: 1
defaults: {{space: Data Integration, gateway: {GATEWAY_ID}}}
connections:
  - name: SRC_MySQL
    kind: mysql-source
    properties: {{server: mysql.dev.internal, username: qtc_reader}}
    secrets: {{password: env:QTC_TEST_MYSQL_PASSWORD}}
"""


def environment(tenant: TenantFixture, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTC_")}
    env.update(
        QTC_HOSTNAME=tenant.url,
        QTC_TOKEN=admin_key(tenant),
        QTC_CONFIG=str(tmp_path / "no-profiles.toml"),
        QTC_FINGERPRINT_KEY_FILE=str(tmp_path / "fingerprint.key"),
        QTC_TEST_MYSQL_PASSWORD=canary("terminal-password"),
        # Rich draws its bar only for a terminal it believes can show one.
        TERM="xterm-256color",
        COLUMNS="100",
    )
    return env


def read_all(descriptor: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:
            # Linux reports EIO once the terminal's other end is closed.
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def run_on_terminal(
    tenant: TenantFixture, tmp_path: Path, typed: str, *, stderr_on_terminal: bool
) -> tuple[subprocess.CompletedProcess[str], str]:
    manifest = tmp_path / "connections.yaml"
    manifest.write_text(MANIFEST)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, "apply", str(manifest)],
            env=environment(tenant, tmp_path),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=terminal if stderr_on_terminal else subprocess.PIPE,
            text=True,
        )
        os.close(terminal)
        terminal = -1
        # The terminal buffers the typed input until the prompt reads it.
        time.sleep(0.1)
        os.write(controller, typed.encode())
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
        terminal_output = read_all(controller)
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    completed = subprocess.CompletedProcess(
        process.args, process.returncode, stdout, stderr or ""
    )
    return completed, terminal_output


def test_confirmed_apply_writes(
    tenant: TenantFixture, client: QlikClient, tmp_path: Path
) -> None:
    completed, _ = run_on_terminal(tenant, tmp_path, "y\n", stderr_on_terminal=False)

    assert completed.returncode == 0, completed.stderr
    assert "Apply these changes? [y/N]" in completed.stderr
    assert names_in_space(client, tenant.space_id()) == ["SRC_MySQL"]


def test_declined_apply_writes_nothing(
    tenant: TenantFixture, client: QlikClient, tmp_path: Path
) -> None:
    completed, _ = run_on_terminal(tenant, tmp_path, "n\n", stderr_on_terminal=False)

    assert completed.returncode == 1
    assert "Error: apply cancelled; nothing was written" in completed.stderr
    assert names_in_space(client, tenant.space_id()) == []


def test_terminal_shows_progress_bar(
    tenant: TenantFixture, client: QlikClient, tmp_path: Path
) -> None:
    completed, terminal_output = run_on_terminal(
        tenant, tmp_path, "y\n", stderr_on_terminal=True
    )

    assert completed.returncode == 0, terminal_output
    assert "[1/1] created SRC_MySQL" in terminal_output
    # Rich hides the cursor while its live progress display runs.
    assert HIDE_CURSOR in terminal_output
    # The plain lines of a non-terminal run are not written as well.
    assert completed.stderr == ""
