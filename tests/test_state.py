"""The state file: loading, atomic saving, tenant binding and fingerprint merges."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from qtc_connections.errors import ConfigError, QtcError
from qtc_connections.sync.state import (
    STATE_FILE_NAME,
    ConnectionKey,
    StateFile,
    default_state_path,
    release_locks,
    write_file_atomically,
)

KEY = ConnectionKey("022b8b9a1222d5f5374aa45b", "SRC_MySQL")
PRINT_A = "hmac-sha256:" + "a" * 64
PRINT_B = "hmac-sha256:" + "b" * 64


def test_missing_file_is_empty_state(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path / STATE_FILE_NAME)

    assert state.keys() == []
    assert state.tenant is None
    assert not state.existed


def test_record_saves_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE_NAME
    state = StateFile(path, tenant="acme.eu.qlikcloud.com")

    state.record(KEY, "id-1", {"password": PRINT_A})

    document = json.loads(path.read_text())
    assert document == {
        "version": 1,
        "tenant": "acme.eu.qlikcloud.com",
        "connections": [
            {
                "space_id": KEY.space_id,
                "name": "SRC_MySQL",
                "id": "id-1",
                "fingerprints": {"password": PRINT_A},
            }
        ],
    }
    assert state.existed


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_saved_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE_NAME
    path.write_text("{}")
    path.chmod(0o644)

    StateFile(path).record(KEY, "id-1", {})

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    state = StateFile(tmp_path / STATE_FILE_NAME)

    for index in range(5):
        state.record(ConnectionKey("s", f"n{index}"), f"id-{index}", {})

    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILE_NAME]


def test_load_reads_saved_state(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE_NAME
    StateFile(path, tenant="host").record(KEY, "id-1", {"password": PRINT_A})

    loaded = StateFile.load(path)

    assert loaded.existed
    assert loaded.tenant == "host"
    assert loaded.fingerprints(KEY, "id-1") == {"password": PRINT_A}


def test_fingerprints_need_matching_id(tmp_path: Path) -> None:
    state = StateFile(tmp_path / STATE_FILE_NAME)
    state.record(KEY, "id-1", {"password": PRINT_A})

    assert state.fingerprints(KEY, "id-2") == {}
    assert state.fingerprints(ConnectionKey("other", "SRC_MySQL"), "id-1") == {}


def test_record_merges_fingerprints(tmp_path: Path) -> None:
    state = StateFile(tmp_path / STATE_FILE_NAME)
    state.record(KEY, "id-1", {"password": PRINT_A, "sshKey": PRINT_A})

    state.record(KEY, "id-1", {"password": PRINT_B})

    assert state.fingerprints(KEY, "id-1") == {"password": PRINT_B, "sshKey": PRINT_A}


def test_record_new_id_drops_fingerprints(tmp_path: Path) -> None:
    state = StateFile(tmp_path / STATE_FILE_NAME)
    state.record(KEY, "id-1", {"password": PRINT_A, "sshKey": PRINT_A})

    state.record(KEY, "id-2", {"password": PRINT_B})

    assert state.fingerprints(KEY, "id-2") == {"password": PRINT_B}


def test_record_replace_drops_fingerprints(tmp_path: Path) -> None:
    state = StateFile(tmp_path / STATE_FILE_NAME)
    state.record(KEY, "id-1", {"password": PRINT_A, "sshKey": PRINT_A})

    state.record(KEY, "id-1", {}, replace=True)

    assert state.fingerprints(KEY, "id-1") == {}


def test_forget_removes_entry(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE_NAME
    state = StateFile(path)
    state.record(KEY, "id-1", {})

    state.forget(KEY)

    assert StateFile.load(path).keys() == []


def test_bind_tenant_sets_new_state(tmp_path: Path) -> None:
    state = StateFile(tmp_path / STATE_FILE_NAME)

    state.bind_tenant("acme.eu.qlikcloud.com")

    assert state.tenant == "acme.eu.qlikcloud.com"


def test_bind_tenant_rejects_other_tenant(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE_NAME
    state = StateFile(path, tenant="dev.eu.qlikcloud.com")

    with pytest.raises(ConfigError) as raised:
        state.bind_tenant("prod.eu.qlikcloud.com")

    assert str(raised.value) == (
        f"the state file {path} belongs to tenant dev.eu.qlikcloud.com, not "
        "prod.eu.qlikcloud.com; give a state file for this tenant with "
        "--state PATH"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "{",
            "it is not valid JSON (Expecting property name enclosed in double quotes)",
        ),
        ("[]", "it is not a JSON object"),
        ('{"version": 2}', "version 2 is not 1"),
        ('{"version": 1, "tenant": 5}', "tenant is not a string"),
        ('{"version": 1, "connections": {}}', "connections is not a list"),
        ('{"version": 1, "connections": [5]}', "connection 1 is not an object"),
        (
            '{"version": 1, "connections": [{"space_id": "s", "name": "n"}]}',
            "connection 1 has no id string",
        ),
        (
            (
                '{"version": 1, "connections": [{"space_id": "s", "name": "n",'
                ' "id": "i", "fingerprints": {"password": "plain"}}]}'
            ),
            "connection 1: the fingerprint of password is malformed",
        ),
    ],
)
def test_invalid_state_is_rejected(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / STATE_FILE_NAME
    path.write_text(content)

    with pytest.raises(ConfigError) as raised:
        StateFile.load(path)

    assert str(raised.value) == (
        f"the state file {path} is invalid: {problem}; move it away to start "
        "with an empty state (secrets then count as unknown until re-sent with "
        "--resend-secrets)"
    )


def test_unwritable_path_fails_clearly(tmp_path: Path) -> None:
    # A file where the folder should be fails for every user, root included.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    state = StateFile(blocker / STATE_FILE_NAME)

    with pytest.raises(QtcError) as raised:
        state.record(KEY, "id-1", {})

    message = str(raised.value)
    assert message.startswith(
        f"cannot write the state file {blocker / STATE_FILE_NAME}"
    )
    assert message.endswith(
        "the write to the tenant succeeded, but the next plan will count its "
        "secrets as unknown"
    )


def test_concurrent_records_all_kept(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE_NAME
    state = StateFile(path)

    threads = [
        threading.Thread(
            target=state.record, args=(ConnectionKey("s", f"n{i:02d}"), f"id-{i}", {})
        )
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(StateFile.load(path).keys()) == 20


def test_default_path_next_to_manifest(tmp_path: Path) -> None:
    first = tmp_path / "envs" / "prod.yaml"

    path = default_state_path((first, tmp_path / "other.yaml"))

    assert path == tmp_path / "envs" / STATE_FILE_NAME


def test_atomic_write_replaces_content(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "file.json"

    write_file_atomically(path, "first")
    write_file_atomically(path, "second")

    assert path.read_text() == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.json"]


def test_exclusive_load_rejects_second_process(tmp_path):
    import subprocess
    import sys
    import time

    path = tmp_path / ".qtc-state.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, os, sys, time; "
                "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
                "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)"
            ),
            str(tmp_path / ".qtc-state.json.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError) as caught:
            StateFile.load(path, exclusive=True)
        assert "in use by another qtc apply" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    time.sleep(0.1)
    StateFile.load(path, exclusive=True)
    release_locks()
