"""qtc emulator serve as a real process: its database lock and bad options."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

QTC = [sys.executable, "-m", "qtc_connections"]


def _start(tmp_path: Path, db: Path) -> subprocess.Popen[bytes]:
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            *QTC,
            "emulator",
            "serve",
            "--port",
            "0",
            "--db",
            str(db),
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert process.poll() is None, "the first emulator exited early"
        assert time.monotonic() < deadline, "the first emulator did not start"
        time.sleep(0.05)
    assert json.loads(ready.read_text())["url"].startswith("http://127.0.0.1:")
    return process


def test_second_emulator_on_same_db_refused(tmp_path):
    db = tmp_path / "tenant.sqlite"
    first = _start(tmp_path, db)
    try:
        second = subprocess.run(
            [*QTC, "emulator", "serve", "--port", "0", "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        first.terminate()
        first.wait(timeout=10)

    assert second.returncode == 2
    assert "is in use by another emulator" in second.stderr
    assert "Traceback" not in second.stderr


def test_non_loopback_host_refused():
    result = subprocess.run(
        [*QTC, "emulator", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "is not a loopback address" in result.stderr
